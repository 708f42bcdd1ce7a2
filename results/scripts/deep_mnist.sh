#!/usr/bin/env bash
# The deep MNIST runs of chapter 7b (VGG9 and ResNet11 on real MNIST, all 10,000 test images),
# one after the other, each resumed from its last.pt if an earlier session stopped it.
# Usage (from the repository root): SNNBP_DATA=../shared/data bash results/scripts/deep_mnist.sh
set -u
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
run() {                     # run FOLDER EPOCHS ARGS...: train, or continue, or skip when done
    local out=results/$1 epochs=$2; shift 2
    if [ -f "$out/last.pt" ]; then
        done=$(($(wc -l < "$out/metrics.csv") - 1))
        [ "$done" -ge "$epochs" ] && { echo "$out: done ($done epochs)"; return 0; }
        "$PY" -m snnbp.train --out "$out" --resume --epochs "$epochs" --no-download --quiet
    else
        "$PY" -m snnbp.train --out "$out" --epochs "$epochs" --no-download --quiet "$@"
    fi
}
# the goal runs, longest first: the modern preset (not the paper's method) on a woken
# network at T = 8
# ResNet11 costs about three times VGG9's step: a smaller subset, so that it fits one session
run mnist-resnet11-modern-woken-T8-n6000 3 --model resnet11 --dataset mnist --preset modern \
    --timesteps 8 --init-rate 0.05 --subset 6000
run mnist-vgg9-modern-woken-T8-n10000 4 --model vgg9 --dataset mnist --preset modern \
    --timesteps 8 --init-rate 0.05 --subset 10000
# accuracy against t, synaptic operations and energy, once each run has its last epoch (VGG9 up
# to t = 16, twice its T; ResNet11, three times VGG9's cost, at its trained T = 8)
evaluate() {                # evaluate FOLDER ARGS...
    [ -f "results/$1/evaluation.json" ] || [ ! -f "results/$1/last.pt" ] ||
        "$PY" -m snnbp.evaluate "results/$1" --checkpoint last --no-download "${@:2}"
}
evaluate mnist-vgg9-modern-woken-T8-n10000 --timesteps 16
evaluate mnist-resnet11-modern-woken-T8-n6000
# the paper's method (derivative, summed squared error, SGD) on the same woken network, T = 16
run mnist-vgg9-paper-woken-T16-n2000 1 --model vgg9 --dataset mnist --preset paper \
    --timesteps 16 --init-rate 0.05 --subset 2000
