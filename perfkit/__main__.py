"""python -m perfkit: the command line."""

from perfkit._entry import main

main()
