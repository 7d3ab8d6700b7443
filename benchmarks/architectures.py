"""`python -m benchmarks architectures`: the course's networks trained on the Training page's
Keras backend, against the test accuracies the course material reports.

Each network trains with the page's defaults (Adam 0.001, batch 64, 10% of the training images held
out, seed 0) for --epochs epochs on the full dataset this machine has: MNIST (the full 70,000
digits when present, else the 10,000 embedded ones) and Fashion-MNIST (Debian's, 60,000 + 10,000).
Prints a Markdown table (parameters, test accuracy, the course's figure, training seconds).
"""

from benchmarks.common import argument_parser, machine, print_json_line
from cnnviz import data, training
from cnnviz.networks.architectures import analyze
from cnnviz.networks.presets import TRAINING_NETWORKS

RUNS = (  # (model name, dataset, the course material's reported test accuracy)
    ("cnn-mnist", "mnist", 0.992),
    ("mlp", "fashion-mnist", 0.888),
    ("lenet5-homework", "fashion-mnist", 0.892),
)


def main(argv: list[str] | None = None) -> int:
    parser = argument_parser("architectures", __doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10, help="epochs per network")
    parser.add_argument("--limit", type=int, default=None, help="training images (default all)")
    parser.add_argument("--only", nargs="+", choices=[name for name, _, _ in RUNS],
                        default=[name for name, _, _ in RUNS], help="networks to train")
    args = parser.parse_args(argv)
    import tensorflow as tf

    machine_line = machine(TensorFlow=tf.__version__)
    print(f"Machine: {machine_line}; {args.epochs} epochs each, Adam 0.001, batch 64, seed 0\n")
    print("| network | dataset | parameters | test accuracy | course reports | training s |")
    print("|---|---|---:|---:|---:|---:|")
    results = []
    for name, dataset_name, reported in RUNS:
        if name not in args.only:
            continue
        try:
            dataset = data.load_dataset(dataset_name)
        except data.DatasetUnavailable as error:
            print(f"| {training.MODELS[name].label} | {dataset_name} | – | skipped: {error} | | |")
            continue
        config = training.TrainConfig(backend="keras", model=name, dataset=dataset_name,
                                      epochs=args.epochs, limit=args.limit)
        history = training.train(config, dataset).history
        seconds = sum(epoch["seconds"] for epoch in history.epochs)
        params = analyze(TRAINING_NETWORKS[name]).total_params
        print(f"| {training.MODELS[name].label} | {dataset_name}, "
              f"{min(args.limit or len(dataset.x_train), len(dataset.x_train)):,} training images "
              f"| {params:,} | {history.test_accuracy:.2%} | {reported:.1%} | "
              f"{seconds:.0f} |")
        results.append({"model": name, "dataset": dataset_name, "source": dataset.source,
                        "params": params, "test_accuracy": history.test_accuracy,
                        "reported_accuracy": reported, "train_seconds": seconds,
                        "epochs": len(history.epochs)})
    if args.json:
        print_json_line({"benchmark": "architectures", "machine": machine_line,
                         "epochs": args.epochs, "runs": results})
    return 0
