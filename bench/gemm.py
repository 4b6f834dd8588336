import sys

from grimoire.bench.gemm import main

main(sys.argv[1:])
