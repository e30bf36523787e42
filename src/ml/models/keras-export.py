"""Fineflow's Keras exporter, run by `fineflow models export --format keras|savedmodel`
(src/ml/models/export-model.ts) with a Python that has TensorFlow 2.16+ / Keras 3
(infra/keras/setup-venv.sh creates one).

It turns the TensorFlow.js layers model Fineflow wrote (model.json + weights.bin) into a Keras 3
`.keras` file (`model.save`) or a TensorFlow SavedModel (`model.export`), so each format is written
by Keras itself rather than by hand. The model.json comes from a pipeline author, so only the
layer types Fineflow builds are accepted (no Lambda, no custom objects) and every weight must
match a variable of the rebuilt model in name and shape. Before returning, the written file is
loaded back the way its users load it (`keras.models.load_model`, `tf.saved_model.load`) and must
predict the probe outputs the tfjs model gave on the same inputs; the result is one JSON line on
stdout. Errors go to stderr and exit 1.

Usage: keras-export.py --tfjs DIR --format keras|savedmodel --output PATH --probe FILE --tolerance T
"""

import argparse
import copy
import json
import os
import sys

# The layer and model classes src/ml/models/architectures.ts and fine-tune build. Anything else
# is refused before Keras deserialises it.
ALLOWED_CLASSES = {
    "Sequential",
    "InputLayer",
    "Dense",
    "Dropout",
    "Conv2D",
    "BatchNormalization",
    "Activation",
    "MaxPooling2D",
    "GlobalMaxPooling2D",
    "GlobalAveragePooling2D",
    "Flatten",
}
MAX_LAYERS = 1000
DTYPE_BYTES = {"float32": 4}


class ExportError(Exception):
    pass


def read_json(path, limit):
    size = os.path.getsize(path)
    if size > limit:
        raise ExportError(f"{os.path.basename(path)} is {size} bytes, more than {limit}")
    with open(path, "r", encoding="utf-8") as handle:
        return json.load(handle)


def check_topology(topology):
    if not isinstance(topology, dict) or topology.get("class_name") not in ALLOWED_CLASSES:
        raise ExportError("model.json: the model must be a Sequential model (what Fineflow trains)")
    layers = (topology.get("config") or {}).get("layers")
    if not isinstance(layers, list) or not 0 < len(layers) <= MAX_LAYERS:
        raise ExportError(f"model.json: a Sequential model needs 1 to {MAX_LAYERS} layers")
    for index, layer in enumerate(layers):
        name = layer.get("class_name") if isinstance(layer, dict) else None
        if name not in ALLOWED_CLASSES:
            allowed = ", ".join(sorted(ALLOWED_CLASSES - {"Sequential"}))
            raise ExportError(f"model.json: layer {index} is {name!r}; exportable layers are {allowed}")


def with_input_layer(topology):
    """tfjs puts the input shape on the first layer (`batch_input_shape`, Keras 2 style), which
    Keras 3 misreads as a per-example shape; an explicit InputLayer with `batch_shape` says it."""
    config = copy.deepcopy(topology["config"])
    layers = config["layers"]
    first = layers[0]
    if first["class_name"] == "InputLayer":
        inner = first["config"]
        if "batch_input_shape" in inner:
            inner["batch_shape"] = inner.pop("batch_input_shape")
        return {"class_name": "Sequential", "config": config}
    shape = first["config"].pop("batch_input_shape", None)
    if not isinstance(shape, list) or not all(d is None or (isinstance(d, int) and d > 0) for d in shape):
        raise ExportError("model.json: the first layer has no batch_input_shape, so the input shape is unknown")
    taken = {layer["config"].get("name") for layer in layers}
    name = next(n for n in ("input", "input_1", "input_2") if n not in taken)
    dtype = first["config"].get("dtype", "float32")
    layers.insert(0, {"class_name": "InputLayer", "config": {"batch_shape": shape, "dtype": dtype, "name": name}})
    return {"class_name": "Sequential", "config": config}


def rebuild_model(topology):
    """The tfjs topology is a Keras 2 style config (snake_case, no `module`): Keras 3 reads it as a legacy config."""
    from keras.src.legacy.saving import saving_utils

    model = saving_utils.model_from_config(with_input_layer(topology))
    if not model.built:
        raise ExportError("model.json: the model could not be built from its input shape")
    return model


def read_weights(np, tfjs_dir, model_json):
    manifest = model_json.get("weightsManifest")
    if not isinstance(manifest, list) or len(manifest) != 1 or manifest[0].get("paths") != ["weights.bin"]:
        raise ExportError("model.json: expected one weights group stored in weights.bin")
    blob = open(os.path.join(tfjs_dir, "weights.bin"), "rb").read()
    weights, offset = {}, 0
    for spec in manifest[0].get("weights", []):
        name, shape, dtype = spec.get("name"), spec.get("shape"), spec.get("dtype")
        if dtype not in DTYPE_BYTES or not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise ExportError(f"model.json: weight {name!r} has dtype {dtype!r} and shape {shape!r}; expected float32")
        count = int(np.prod(shape)) if shape else 1
        end = offset + count * DTYPE_BYTES[dtype]
        if end > len(blob):
            raise ExportError(f"weights.bin is {len(blob)} bytes, too short for weight {name!r}")
        weights[name] = np.frombuffer(blob, dtype="<f4", count=count, offset=offset).reshape(shape)
        offset = end
    if offset != len(blob):
        raise ExportError(f"weights.bin has {len(blob) - offset} bytes the manifest does not describe")
    return weights


def assign_weights(model, weights):
    """tfjs names a weight `<layer>/<variable>`; Keras 3 has the same layer and variable names."""
    unused = dict(weights)
    for layer in model.layers:
        for variable in layer.weights:
            key = f"{layer.name}/{variable.name}"
            value = unused.pop(key, None)
            if value is None:
                raise ExportError(f"weights.bin has no value for {key}")
            if tuple(value.shape) != tuple(variable.shape):
                raise ExportError(f"{key}: weights.bin has shape {value.shape}, the model {tuple(variable.shape)}")
            variable.assign(value)
    if unused:
        raise ExportError(f"weights.bin has weights no layer takes: {', '.join(sorted(unused))}")


def reload_and_predict(tf, keras, np, fmt, output, inputs):
    if fmt == "keras":
        reloaded = keras.models.load_model(output, compile=False)
        return np.asarray(reloaded(inputs, training=False))
    reloaded = tf.saved_model.load(output)
    return np.asarray(reloaded.serve(tf.constant(inputs)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tfjs", required=True)
    parser.add_argument("--format", required=True, choices=["keras", "savedmodel"])
    parser.add_argument("--output", required=True)
    parser.add_argument("--probe", required=True)
    parser.add_argument("--tolerance", type=float, required=True)
    args = parser.parse_args()

    # Refuse what is not ours before paying for (or exposing) a TensorFlow import.
    model_json = read_json(os.path.join(args.tfjs, "model.json"), 64 * 1024 * 1024)
    topology = model_json.get("modelTopology")
    check_topology(topology)
    if os.path.exists(args.output):
        raise ExportError(f"{args.output} already exists")

    import numpy as np
    import tensorflow as tf
    import keras

    if int(keras.__version__.split(".")[0]) < 3:
        raise ExportError(f"Keras {keras.__version__} is too old: TensorFlow 2.16+ (Keras 3) is needed")
    model = rebuild_model(topology)
    assign_weights(model, read_weights(np, args.tfjs, model_json))

    if args.format == "keras":
        model.save(args.output)
    else:
        model.export(args.output, format="tf_saved_model", verbose=False)

    probe = read_json(args.probe, 256 * 1024 * 1024)
    inputs = np.asarray(probe["inputs"], dtype="float32").reshape(probe["inputShape"])
    expected = np.asarray(probe["outputs"], dtype="float32").reshape(probe["outputShape"])
    predicted = reload_and_predict(tf, keras, np, args.format, args.output, inputs)
    if predicted.shape != expected.shape:
        raise ExportError(f"the reloaded model predicts shape {predicted.shape}, the tfjs model {expected.shape}")
    difference = float(np.max(np.abs(predicted - expected)))
    if not difference <= args.tolerance:
        raise ExportError(
            f"the reloaded {args.format} model differs from the tfjs model by {difference:.3g} "
            f"on the probe inputs (tolerance {args.tolerance:g})"
        )
    print(
        json.dumps(
            {
                "tensorflow": tf.__version__,
                "keras": keras.__version__,
                "probeExamples": int(inputs.shape[0]),
                "maxAbsDifference": difference,
            }
        )
    )


if __name__ == "__main__":
    try:
        main()
    except ExportError as error:
        print(f"keras-export: {error}", file=sys.stderr)
        sys.exit(1)
