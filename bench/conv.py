import sys

from grimoire.bench.conv import main

main(sys.argv[1:])
