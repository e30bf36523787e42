"""Keras reference for bench/backend-bench.ts: trains the same two models (MLP on tabular data,
small CNN on 28x28 images) with the same batch size, optimizer and thread count, and prints one
JSON line with the measured training throughput.

Usage: train_bench.py --model mlp|cnn --batch-size N --batches N --warmup-batches N --threads N
"""
import argparse
import json
import os
import sys
import time


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", choices=["mlp", "cnn"], required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    parser.add_argument("--batches", type=int, required=True, help="timed batches (one epoch over batches * batch-size samples)")
    parser.add_argument("--warmup-batches", type=int, default=3)
    parser.add_argument("--threads", type=int, required=True)
    return parser.parse_args()


def build_model(keras, name: str):
    # Must mirror buildBenchModel() in bench/backend-bench.ts layer for layer.
    if name == "mlp":
        layers = [
            keras.Input(shape=(64,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    else:
        layers = [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    model = keras.Sequential(layers)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    return model


def main() -> None:
    args = parse_args()
    # Thread pools are sized when TensorFlow initialises: set them before the first op.
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(args.threads))
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras = tf.keras
    rng = np.random.default_rng(7)
    shape = (64,) if args.model == "mlp" else (28, 28, 1)
    count = args.batches * args.batch_size
    xs = rng.uniform(-1, 1, size=(count, *shape)).astype("float32")
    ys = np.eye(10, dtype="float32")[rng.integers(0, 10, size=count)]

    model = build_model(keras, args.model)
    warm = args.warmup_batches * args.batch_size
    # The first fit traces and compiles the train step; time only the second.
    model.fit(xs[:warm], ys[:warm], batch_size=args.batch_size, epochs=1, shuffle=False, verbose=0)
    start = time.perf_counter()
    cpu_start = time.process_time()  # all threads of this process
    model.fit(xs, ys, batch_size=args.batch_size, epochs=1, shuffle=False, verbose=0)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    print(json.dumps({
        "backend": "keras",
        "model": args.model,
        "samples": count,
        "seconds": seconds,
        "samplesPerSecond": count / seconds,
        "cpuSeconds": cpu_seconds,
        "tensorflowVersion": tf.__version__,
        "kerasVersion": keras.__version__ if hasattr(keras, "__version__") else "unknown",
        "threads": args.threads,
    }))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
