"""A nearest-centroid classifier on top of the reference: labels are whole numbers naming classes, the model
is each class's mean feature vector, and a row is predicted to be the class whose centroid is nearest."""

import algorithm

parse_csv = algorithm.parse_csv


def parse_labelled_csv(text, columns=None, where="input"):
    # Training and validation rows: numbers as in the reference, and a label that is a whole number.
    rows = parse_csv(text, columns, where)
    numbers = [number for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    for number, (label, *_) in zip(numbers, rows):
        if not label.is_integer():
            field = text.splitlines()[number - 1].split(",")[0].strip()
            raise algorithm.BadInput(f"{where}: label {field} on line {number} is not a class label (a whole number)")
    return rows


def centroids(rows):
    sums = {}
    for label, *x in rows:
        count, total = sums.get(int(label), (0, [0.0] * len(x)))
        sums[int(label)] = (count + 1, [t + v for t, v in zip(total, x)])
    return {label: [t / count for t in total] for label, (count, total) in sorted(sums.items())}


def predict(model, rows):
    def nearest(x):
        distances = {label: sum((c - v) ** 2 for c, v in zip(centroid, x))
                     for label, centroid in zip(model["classes"], model["centroids"])}
        return min(distances, key=distances.get)
    return [nearest(x) for x in rows]


def accuracy(model, rows):
    return sum(p == int(label) for p, (label, *_) in zip(predict(model, [x for _, *x in rows]), rows)) / len(rows)


def fit(rows, epochs, epoch_pause, validation_rows=None):
    model = {"features": len(rows[0]) - 1, "classes": [], "centroids": []}
    for epoch in range(1, epochs + 1):
        if algorithm.stop_requested.is_set():
            print(f"SIGTERM received: stopping after {epoch - 1} epochs and saving the model so far")
            break
        # A pass over the data recomputes the class means; the data set is tiny, so the pause (as in the
        # reference) makes the run last a few seconds, like real training.
        means = centroids(rows)
        model["classes"], model["centroids"] = list(means), list(means.values())
        metrics = {"train_accuracy": accuracy(model, rows)}
        if validation_rows:
            metrics["validation_accuracy"] = accuracy(model, validation_rows)
        algorithm.report_epoch(epoch, metrics)
        algorithm.stop_requested.wait(epoch_pause)
    return model


def install(training):
    algorithm.predict = predict
    if training:
        # The only hyperparameter is epochs (25 passes of 0.1 s: about 2.5 s); epoch_pause stays the reference's
        # test seam. Requests to /invocations have no label, so only training reads labelled CSV.
        algorithm.HYPERPARAMETER_TABLE = {"epochs": (algorithm._number(int, 1, 50), "25")}
        algorithm.parse_csv = parse_labelled_csv
        algorithm.fit = fit
