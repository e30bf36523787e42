"""A scikit-learn baseline for a Fineflow `command` stage.

Reads a prepare-data dataset that the stage downloaded (`inputs/<name>/manifest.json` plus its
shards, as `as: dataset` lays them out), fits a classical model on the training split, and writes:

- `out/predictions.json`: class probabilities for every example of the evaluation split, in the
  manifest's order, so `evaluate` can score this model with the same metrics as the tfjs one;
- `out/model.pkl`: the fitted pipeline;
- `$FINEFLOW_RESULTS`: {"outputs": {...}, "metrics": {...}} for downstream stages.

Progress goes to stdout as `::fineflow:: {json}` lines. Exit 65 (EX_DATAERR) when the dataset
cannot be used: retrying would not help.
"""

import argparse
import json
import os
import pickle
import struct
import sys
import time

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

SHARD_MAGIC = b"FFS1"


def progress(fraction, message, **metrics):
    line = {"progress": fraction, "message": message}
    if metrics:
        line["metrics"] = metrics
    print("::fineflow:: " + json.dumps(line), flush=True)


def fail(message):
    print(message, file=sys.stderr, flush=True)
    sys.exit(65)


def read_shard(path):
    """One Fineflow shard: "FFS1", u32 count, u32 featureLength, u32 0, f32 features, i32 labels (little-endian)."""
    with open(path, "rb") as handle:
        data = handle.read()
    if data[:4] != SHARD_MAGIC:
        fail(f"{path} is not a Fineflow shard")
    count, length, _ = struct.unpack_from("<III", data, 4)
    features = np.frombuffer(data, dtype="<f4", count=count * length, offset=16).reshape(count, length)
    labels = np.frombuffer(data, dtype="<i4", count=count, offset=16 + count * length * 4)
    return features, labels


def read_split(root, manifest, split):
    shards = manifest["splits"][split]["shards"]
    if not shards:
        return np.zeros((0, int(np.prod(manifest["featureShape"]))), dtype="f4"), np.zeros(0, dtype="i4")
    parts = [read_shard(os.path.join(root, shard["path"])) for shard in shards]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def build_model(kind, max_iter, seed):
    if kind == "logistic-regression":
        classifier = LogisticRegression(max_iter=max_iter, random_state=seed)
    elif kind == "gradient-boosting":
        classifier = HistGradientBoostingClassifier(max_iter=max_iter, random_state=seed)
    else:
        fail(f"--model {kind}: use logistic-regression or gradient-boosting")
    return make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(), classifier)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="inputs/data", help="folder of the downloaded dataset")
    parser.add_argument("--split", default="test", choices=["test", "validation"])
    parser.add_argument("--model", default="logistic-regression")
    parser.add_argument("--max-iter", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="out")
    args = parser.parse_args()

    with open(os.path.join(args.data, "manifest.json"), encoding="utf-8") as handle:
        manifest = json.load(handle)
    classes = manifest["classes"]
    progress(0.1, "reading shards")
    x_train, y_train = read_split(args.data, manifest, "train")
    x_eval, y_eval = read_split(args.data, manifest, args.split)
    if len(x_train) == 0 or len(x_eval) == 0:
        fail(f"the dataset needs train and {args.split} examples (has {len(x_train)} and {len(x_eval)})")
    progress(0.3, f"fitting {args.model} on {len(x_train)} examples")
    started = time.time()
    model = build_model(args.model, args.max_iter, args.seed)
    model.fit(x_train, y_train)
    train_seconds = time.time() - started

    # Probabilities over every class of the dataset, even those the training split lacks.
    probabilities = np.zeros((len(x_eval), len(classes)))
    probabilities[:, model.classes_] = model.predict_proba(x_eval)
    predicted = probabilities.argmax(axis=1)
    accuracy = float(accuracy_score(y_eval, predicted))
    f1 = float(f1_score(y_eval, predicted, average="macro", labels=list(range(len(classes))), zero_division=0))
    progress(0.9, "scored", accuracy=accuracy, f1=f1)

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "predictions.json"), "w", encoding="utf-8") as handle:
        json.dump(
            {
                "format": "fineflow-predictions/v1",
                "model": f"scikit-learn {args.model}",
                "split": args.split,
                "classes": classes,
                "labels": [int(label) for label in y_eval],
                "probabilities": [[round(float(p), 6) for p in row] for row in probabilities],
            },
            handle,
        )
    with open(os.path.join(args.out, "model.pkl"), "wb") as handle:
        pickle.dump(model, handle)
    import sklearn

    with open(os.environ["FINEFLOW_RESULTS"], "w", encoding="utf-8") as handle:
        json.dump(
            {
                "outputs": {
                    "model": args.model,
                    "sklearnVersion": sklearn.__version__,
                    "trainExamples": int(len(x_train)),
                    "evaluated": int(len(x_eval)),
                },
                "metrics": {"accuracy": accuracy, "f1": f1, "trainSeconds": train_seconds},
            },
            handle,
        )
    print(f"{args.model}: accuracy {accuracy:.3f}, macro F1 {f1:.3f} on {len(x_eval)} {args.split} examples")


if __name__ == "__main__":
    main()
