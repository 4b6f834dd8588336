import sys

from grimoire.bench.ml_svm_tsne import main

main(sys.argv[1:])
