"""The escaping module, proven against htcondor2's own submit parser and classad2."""
from __future__ import annotations

import pytest

htcondor2 = pytest.importorskip("htcondor2")
classad2 = pytest.importorskip("classad2")

from cloudsubmit.errors import SubmitError  # noqa: E402
from cloudsubmit.jobs import condor  # noqa: E402

HOSTILE = [
    "/gs/work/neo/cloudTest/scene.ma",
    "/gs/my scene/shot 010.ma",
    '/gs/quote"d/scene.ma',
    "/gs/it's/scene.ma",
    "/gs/both ' and \" and '' \"\"/x.ma",
    "/gs/macro$(Cluster)/x.ma",
    "/gs/env$ENV(HOME)/x.ma",
    "/gs/fn$Fn(/a/b.c)/x.ma",
    "/gs/houdini/$HIP/render.$F4.exr",
    "/gs/#hash/#x.ma",
    "/gs/日本語/シーン 01.ma",
    "/gs/trailing$",
    "/gs/tab\there",
    "queue 5",
    "a = b",
    "",
    "'",
    '"',
    "\\back\\slash\\",
    "-flag-looking",
]
NEWLINES = ["/gs/a\nqueue 5", "/gs/a\r\nx", "/gs/a\rb", "nul\x00byte"]


def _submit(text: str, **macros: str):
    sub = htcondor2.Submit(text)
    for k, v in macros.items():
        sub[k] = v
    return sub


# --- the manual's own examples of new-style arguments -------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ('"3 simple arguments"', ["3", "simple", "arguments"]),
    ('"one ""two"" \'spacey \'\'quoted\'\' argument\'"', ["one", '"two"', "spacey 'quoted' argument"]),
    ('"one \'two three\' four"', ["one", "two three", "four"]),
    ('"a \'\' b"', ["a", "", "b"]),
    ('"  lead   trail  "', ["lead", "trail"]),
])
def test_split_arguments_follows_the_manual(text, expected):
    assert condor.split_arguments(text) == expected


def test_split_environment_follows_the_manual():
    env = condor.split_environment('"one=1 two=""2"" three=\'spacey \'\'quoted\'\' value\'"')
    assert env == {"one": "1", "two": '"2"', "three": "spacey 'quoted' value"}


# --- hostile values survive htcondor2's parser unchanged ------------------------------------------

@pytest.mark.parametrize("value", HOSTILE)
def test_arguments_round_trip_through_htcondor(value):
    args = ["-m", "cloudsubmit", value, "--node", "render_0001", value + " tail"]
    text = "executable = /bin/true\narguments = " + condor.submit_arguments(args, "args") + "\n"
    sub = _submit(text)
    assert sorted(sub.keys()) == ["arguments", "executable"]  # nothing injected
    assert condor.split_arguments(sub.expand("arguments")) == args


@pytest.mark.parametrize("value", HOSTILE)
def test_vars_argument_round_trips_through_dag_and_submit(value):
    line = condor.vars_line("render_0001", {"scene": condor.vars_argument(value, "scene")})
    node, values = condor.parse_vars_line(line)
    assert node == "render_0001"
    sub = _submit('executable = /bin/true\narguments = "stage $(scene) end"\n', **values)
    assert condor.split_arguments(sub.expand("arguments")) == ["stage", value, "end"]


@pytest.mark.parametrize("value", [v for v in HOSTILE if v])
def test_classad_string_round_trips(value):
    text = "executable = /bin/true\nMY.CloudSubmitScene = " + condor.classad_string(value, "scene") + "\n"
    sub = _submit(text)
    assert sorted(sub.keys()) == ["MY.CloudSubmitScene", "executable"]
    expr = classad2.ExprTree(sub.expand("MY.CloudSubmitScene"))
    assert expr.eval() == value


@pytest.mark.parametrize("value", [v for v in HOSTILE if v and v == v.strip() and not v.endswith("\\")])
def test_submit_value_round_trips(value):
    sub = _submit("executable = /bin/true\ninitialdir = " + condor.submit_value(value, "initialdir") + "\n")
    assert sub.expand("initialdir") == value


@pytest.mark.parametrize("value", HOSTILE)
def test_environment_round_trips(value):
    env = {"CLOUDSUBMIT_SCENE": value, "HOUDINI_PATHMAP": '{"/gs": "/mnt/gs"}'}
    sub = _submit("executable = /bin/true\nenvironment = " + condor.submit_environment(env, "env") + "\n")
    assert condor.split_environment(sub.expand("environment")) == env


def test_dollar_macros_stay_literal_but_houdini_tokens_stay_readable():
    assert condor.submit_value("/a/$(Cluster)/$F4", "x") == "/a/$(DOLLAR)(Cluster)/$F4"
    assert condor.submit_value("$ENV(HOME)", "x") == "$(DOLLAR)ENV(HOME)"


# --- refused, with one line naming the value ----------------------------------------------------

@pytest.mark.parametrize("value", NEWLINES)
def test_newlines_are_refused_in_every_context(value):
    funcs = [
        lambda v: condor.submit_value(v, "initialdir"),
        lambda v: condor.submit_arguments([v], "arguments"),
        lambda v: condor.classad_string(v, "MY.Scene"),
        lambda v: condor.vars_value(v, "VARS n scene"),
        lambda v: condor.vars_argument(v, "VARS n scene"),
        lambda v: condor.submit_environment({"A": v}, "environment"),
        lambda v: condor.dag_token(v, "SCRIPT"),
        lambda v: condor.node_name(v),
    ]
    for f in funcs:
        with pytest.raises(SubmitError) as info:
            f(value)
        msg = info.value.message
        assert "\n" not in msg and info.value.exit_code == 2


@pytest.mark.parametrize("value", ["/gs/a$$b", "/gs/$$(Memory)", "/gs/$(DOLLAR)x"])
def test_unrepresentable_dollars_are_refused(value):
    with pytest.raises(SubmitError, match="cannot"):
        condor.submit_value(value, "scene")
    with pytest.raises(SubmitError):
        condor.vars_argument(value, "scene")


@pytest.mark.parametrize("name", ["render+1", "a.b", "a b", "", "ALL_NODES", "日本", "x\ny"])
def test_bad_node_names_are_refused(name):
    with pytest.raises(SubmitError, match="node name"):
        condor.node_name(name)


def test_good_node_names_pass():
    for name in ("upload", "render_0001", "scout-2", "job_20261128T152000Z_ab12"):
        assert condor.node_name(name) == name


@pytest.mark.parametrize("value", ["/gs/a b/post.sh", 'x"y', "", "tab\tx"])
def test_script_arguments_refuse_whitespace(value):
    with pytest.raises(SubmitError, match="SCRIPT|whitespace"):
        condor.dag_token(value, "SCRIPT POST")


def test_submit_value_refuses_surrounding_whitespace_and_list_commas():
    with pytest.raises(SubmitError, match="whitespace"):
        condor.submit_value(" /gs/x", "initialdir")
    with pytest.raises(SubmitError, match="','"):
        condor.submit_list_item("/gs/a,b", "transfer_input_files")


def test_attribute_names_are_checked():
    assert condor.attr_name("MayUseAWS", "attr") == "MayUseAWS"
    for bad in ("1abc", "a-b", "a b", "a=b", ""):
        with pytest.raises(SubmitError):
            condor.attr_name(bad, "attr")


def test_classad_literal_types():
    assert condor.classad_literal(True, "x") == "true"
    assert condor.classad_literal(3, "x") == "3"
    assert classad2.ExprTree(condor.classad_literal('a"b', "x")).eval() == 'a"b'


def test_vars_line_parses_back_with_several_values():
    line = condor.vars_line("n1", {"a": condor.vars_value('x "y" \\z', "a"), "b": condor.vars_value("", "b")})
    assert condor.parse_vars_line(line) == ("n1", {"a": 'x "y" \\z', "b": ""})


def test_trailing_backslash_cannot_swallow_the_next_line():
    with pytest.raises(SubmitError, match="backslash"):
        condor.submit_value("C:\\renders\\", "initialdir")
    # inside quotes it is harmless: the value ends with the closing quote
    args = condor.submit_arguments(["C:\\renders\\"], "args")
    sub = _submit("executable = /bin/true\narguments = " + args + "\nqueue_me = 1\n")
    assert condor.split_arguments(sub.expand("arguments")) == ["C:\\renders\\"]
    assert sub["queue_me"] == "1"
