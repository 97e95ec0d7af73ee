"""``python -m cloudsubmit`` (and so ``mayapy -m cloudsubmit`` / ``hython -m cloudsubmit``)."""
import sys

from cloudsubmit.cli import main

if __name__ == "__main__":
    sys.exit(main())
