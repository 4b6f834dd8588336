import sys

from grimoire.bench.linear_attention import main

main(sys.argv[1:])
