"""One trial of a Fineflow sweep over a `command` stage (pipelines/sweep-command.yaml).

Trains a linear classifier with stochastic gradient descent on a prepare-data dataset (read with
sklearn_baseline.py's shard reader, downloaded beside this file), one pass over the training split
per step, and after every step reports the validation accuracy on stdout:

    ::fineflow:: {"step": 3, "progress": 0.3, "metrics": {"validation_accuracy": 0.81}}

The sweep's early stopping (ASHA) reads those lines and may stop this process between steps.
The sampled hyperparameters arrive in the JSON file $FINEFLOW_PARAMS; the final metrics go to
$FINEFLOW_RESULTS, where the sweep reads its objective. Exit 65 (EX_DATAERR) on unusable data.
"""

import argparse
import json
import os
import sys

import numpy as np
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import StandardScaler

from sklearn_baseline import fail, read_split


def report(step, steps, **metrics):
    line = {"step": step, "progress": step / steps, "message": f"step {step}/{steps}", "metrics": metrics}
    print("::fineflow:: " + json.dumps(line), flush=True)


def read_params():
    path = os.environ.get("FINEFLOW_PARAMS")
    if not path:
        fail("FINEFLOW_PARAMS is not set: run this script as a Fineflow command stage")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="inputs/data", help="folder of the downloaded dataset")
    parser.add_argument("--steps", type=int, default=9, help="passes over the training split")
    args = parser.parse_args()
    params = read_params()
    alpha = float(params.get("alpha", 1e-4))
    eta0 = float(params.get("eta0", 0.01))
    loss = str(params.get("loss", "log_loss"))
    seed = int(params.get("seed", 0))

    with open(os.path.join(args.data, "manifest.json"), encoding="utf-8") as handle:
        manifest = json.load(handle)
    x_train, y_train = read_split(args.data, manifest, "train")
    x_valid, y_valid = read_split(args.data, manifest, "validation")
    if len(x_train) == 0 or len(x_valid) == 0:
        fail(f"the dataset needs train and validation examples (has {len(x_train)} and {len(x_valid)})")
    # Missing values (NaN) become the training column's median, as the baseline's imputer does.
    medians = np.nan_to_num(np.nanmedian(x_train, axis=0))
    x_train = np.where(np.isnan(x_train), medians, x_train)
    x_valid = np.where(np.isnan(x_valid), medians, x_valid)
    scaler = StandardScaler().fit(x_train)
    x_train, x_valid = scaler.transform(x_train), scaler.transform(x_valid)

    classes = np.arange(len(manifest["classes"]))
    model = SGDClassifier(loss=loss, alpha=alpha, learning_rate="constant", eta0=eta0, random_state=seed)
    rng = np.random.default_rng(seed)
    best = 0.0
    for step in range(1, args.steps + 1):
        order = rng.permutation(len(x_train))
        model.partial_fit(x_train[order], y_train[order], classes=classes)
        accuracy = float(accuracy_score(y_valid, model.predict(x_valid)))
        best = max(best, accuracy)
        report(step, args.steps, validation_accuracy=accuracy)

    with open(os.environ["FINEFLOW_RESULTS"], "w", encoding="utf-8") as handle:
        json.dump(
            {
                "outputs": {"alpha": alpha, "eta0": eta0, "loss": loss, "steps": args.steps},
                "metrics": {"validation_accuracy": accuracy, "best_validation_accuracy": best},
            },
            handle,
        )


if __name__ == "__main__":
    sys.exit(main())
