"""cloudsubmit: send only what a scene needs to the cloud, render through an HTCondor DAG."""
from setuptools import find_packages, setup

setup(
    name="cloudsubmit",
    version="0.1.0",
    description="Submit Maya and Houdini renders to an HTCondor pool with cloud nodes, uploading only what the scene needs.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.9",
    packages=find_packages(include=["cloudsubmit", "cloudsubmit.*"]),
    include_package_data=True,
    package_data={"cloudsubmit": ["defaults/*.yaml", "scan/*.yaml", "jobs/*.yaml", "examples/**/*", "examples/*/*/*", "ui/*.png"]},
    install_requires=[
        "pyyaml>=5.4",
        "fileseq>=1.15",
        "xxhash>=3.0",
        "boto3>=1.26",
        "htcondor>=24.0; sys_platform == 'linux'",
    ],
    extras_require={
        "s3": ["boto3>=1.26"],
        "usd": ["usd-core>=23.0"],
        "gui": ["Qt.py>=1.3", "PySide6-Essentials>=6.5"],
        "dev": [
            "mypy>=1.0",
            "pytest>=7",
            "pytest-qt>=4.2",
            "pytest-timeout>=2.1",
            "moto[server]>=5.0",
            "awscli>=1.29",
            "usd-core>=23.0",
            "Qt.py>=1.3",
            "PySide6-Essentials>=6.5",
            "htcondor>=24.0; sys_platform == 'linux'",
        ],
    },
    entry_points={"console_scripts": ["cloudsubmit = cloudsubmit.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3.9",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Topic :: Multimedia :: Graphics :: 3D Rendering",
    ],
)
