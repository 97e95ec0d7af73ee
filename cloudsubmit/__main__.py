"""``python -m cloudsubmit`` (and so ``mayapy -m cloudsubmit`` / ``hython -m cloudsubmit``)."""
import sys

from cloudsubmit.allocator import pin_mmap_threshold
from cloudsubmit.cli import main

if __name__ == "__main__":
    pin_mmap_threshold()  # the process is this command's own: see allocator.py
    sys.exit(main())
