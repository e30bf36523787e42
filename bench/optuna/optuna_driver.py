"""Optuna's side of the sweep benchmark (bench/sweep/drivers.ts starts it).

Runs Optuna sweeps through the ask-and-tell interface, one at a time, on the parent's request.
The parent (Node) owns training: for every epoch of every trial this process writes a line
{"op": "value", "trial", "params", "epoch"} and reads back {"value", "stop"}; the parent
trains the trial with Fineflow's training code (or answers from its cache) and counts the epoch.

Trials advance as the Fineflow drivers advance theirs: up to `parallelism` trials run at once,
each trains one epoch per tick, reports it (`trial.report`), and is told PRUNED when the pruner
says so or COMPLETE at the end of its budget. Samplers: TPE with Optuna's defaults and the
sweep's seed; with parallel trials `constant_liar=True`, Optuna's setting for trials that run
at the same time (Fineflow's TPE does the same by default).

Protocol on stdin, one JSON object a line: {"op": "sweep", "pruner", "seed", "space",
"epochsPerTrial", "parallelism", "maxTrials", "priorTrials"?} starts a sweep; EOF ends the process.

`priorTrials` (the retrain scenario): trials of an earlier sweep, {"params", "status": "completed" |
"stopped", "value", "epochs"}, added to the new study before its first ask with
`study.add_trial(optuna.trial.create_trial(...))`: a completed trial with its value, a stopped one as
PRUNED with its value as the intermediate value at its last epoch (what TPE ranks pruned trials by).
That is what an Optuna user who keeps studies in a shared database can do. Added trials carry no
pruner rung records, so the pruner judges the new trials among themselves, as Fineflow's ASHA does.
"""

import json
import sys

import optuna
from optuna.trial import TrialState


def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def receive():
    line = sys.stdin.readline()
    if not line:
        return None
    return json.loads(line)


def suggest(trial, parameter):
    kind = parameter["kind"]
    name = parameter["name"]
    if kind == "float":
        return trial.suggest_float(name, parameter["low"], parameter["high"], log=parameter["log"])
    if kind == "int":
        step = parameter.get("step", 1)
        if parameter.get("log"):
            return trial.suggest_int(name, parameter["low"], parameter["high"], log=True)
        return trial.suggest_int(name, parameter["low"], parameter["high"], step=step)
    if kind == "categorical":
        return trial.suggest_categorical(name, parameter["choices"])
    return parameter["value"]


def distribution(parameter):
    kind = parameter["kind"]
    if kind == "float":
        return optuna.distributions.FloatDistribution(parameter["low"], parameter["high"], log=parameter["log"])
    if kind == "int":
        if parameter.get("log"):
            return optuna.distributions.IntDistribution(parameter["low"], parameter["high"], log=True)
        return optuna.distributions.IntDistribution(parameter["low"], parameter["high"], step=parameter.get("step", 1))
    if kind == "categorical":
        return optuna.distributions.CategoricalDistribution(parameter["choices"])
    return None  # a fixed value is not an Optuna parameter


def add_prior_trials(study, space, priors):
    distributions = {p["name"]: distribution(p) for p in space if distribution(p) is not None}
    # Given newest first (as Fineflow's warm start reads its history): added oldest first, so trial numbers
    # follow the order the trials ran in, as in a study that kept them.
    for prior in reversed(priors):
        params = {name: prior["params"][name] for name in distributions}
        if prior["status"] == "completed":
            trial = optuna.trial.create_trial(
                params=params, distributions=distributions, value=prior["value"], state=TrialState.COMPLETE
            )
        else:
            trial = optuna.trial.create_trial(
                params=params,
                distributions=distributions,
                intermediate_values={prior["epochs"]: prior["value"]},
                state=TrialState.PRUNED,
            )
        study.add_trial(trial)


def make_pruner(name, budget):
    if name == "successive-halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=budget, reduction_factor=3)
    raise ValueError(f"unknown pruner {name}")


def run_sweep(config):
    budget = config["epochsPerTrial"]
    parallelism = config["parallelism"]
    sampler = optuna.samplers.TPESampler(seed=config["seed"], constant_liar=parallelism > 1)
    # A fixed study name: HyperbandPruner assigns trials to brackets by a hash of the study name and
    # trial number, and an unnamed study gets a random uuid name, so runs would not repeat.
    study = optuna.create_study(
        study_name=f"fineflow-bench-seed-{config['seed']}",
        direction="maximize",
        sampler=sampler,
        pruner=make_pruner(config["pruner"], budget),
    )
    add_prior_trials(study, config["space"], config.get("priorTrials", []))
    running = []
    started = 0
    while True:
        while len(running) < parallelism and started < config["maxTrials"]:
            trial = study.ask()
            params = {p["name"]: suggest(trial, p) for p in config["space"]}
            running.append({"trial": trial, "params": params, "epoch": 0})
            started += 1
        if not running:
            break
        for entry in list(running):
            entry["epoch"] += 1
            trial, epoch = entry["trial"], entry["epoch"]
            send({"op": "value", "trial": trial.number, "params": entry["params"], "epoch": epoch})
            reply = receive()
            if reply is None:
                return
            if reply["stop"]:
                send({"op": "end", "trials": started})
                return
            value = reply["value"]
            trial.report(value, epoch)
            if epoch >= budget:
                study.tell(trial, value)
                running.remove(entry)
            elif trial.should_prune():
                study.tell(trial, state=TrialState.PRUNED)
                running.remove(entry)
    send({"op": "end", "trials": started})


def main():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    send({"op": "ready", "version": optuna.__version__})
    while True:
        config = receive()
        if config is None:
            return
        try:
            run_sweep(config)
        except Exception as error:  # report to the parent, which fails the bench with the message
            send({"op": "error", "message": f"{type(error).__name__}: {error}"})
            return


if __name__ == "__main__":
    main()
