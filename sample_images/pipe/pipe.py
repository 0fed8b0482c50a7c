"""Pipe-mode training of the reference model, standard library only.

A Pipe-mode channel has no directory: SageMaker streams it through one FIFO per epoch,
/opt/ml/input/data/<channel>_<epoch>, and makes the FIFO of epoch n+1 only after the one of epoch n has been read
to its end and closed. Here each epoch opens its FIFO once, reads it through and takes one gradient step on its
rows. In File and FastFile mode `train` is the reference's. The broken samples replace one piece: input_mode (which
mode the program believes the channel is in) or read_fifo (how one epoch's FIFO is read)."""

import json
import time

import algorithm

CHANNEL = "training"
POLL_SECONDS = 0.05
WAIT_SECONDS = 60  # the next FIFO comes right after the previous one is closed: a minute means it is not coming


def input_mode(channel):
    try:
        channels = json.loads(algorithm.INPUT_DATA_CONFIG.read_text(encoding="utf-8"))
        return channels[channel].get("TrainingInputMode", "File")
    except (OSError, ValueError, KeyError, AttributeError):
        return "File"  # no such channel or no readable config: the reference's train_main reports it


def read_fifo(path):
    # Once, to the end: what a FIFO streamed is gone, and only the close lets the next epoch's FIFO appear.
    with open(path, encoding="utf-8") as stream:
        return stream.read()


def epoch_rows(epoch, columns=None):
    """The rows streamed in epoch `epoch` (0, 1, 2, ...), from a FIFO that may not exist yet."""
    fifo = algorithm.DATA / f"{CHANNEL}_{epoch}"
    deadline = time.monotonic() + WAIT_SECONDS
    while not fifo.exists():
        if time.monotonic() > deadline:
            raise algorithm.BadInput(f"Pipe mode: {fifo} (epoch {epoch} of the {CHANNEL!r} channel) did not appear "
                                     f"within {WAIT_SECONDS} s")
        time.sleep(POLL_SECONDS)
    rows = algorithm.parse_csv(read_fifo(fifo), columns, where=fifo.name)
    if not rows:
        raise algorithm.BadInput(f"no data: the {CHANNEL!r} channel streamed no rows through {fifo}")
    return rows


def fit(rows, epochs, learning_rate, epoch_pause, regularization="none", validation_rows=None):
    """algorithm.fit on a streamed channel: `rows` are epoch 0's, and every later epoch reads its own FIFO."""
    weights, bias = [0.0] * (len(rows[0]) - 1), 0.0
    for epoch in range(1, epochs + 1):
        if algorithm.stop_requested.is_set():
            print(f"SIGTERM received: stopping after {epoch - 1} epochs and saving the model so far")
            break
        if epoch > 1:
            rows = epoch_rows(epoch - 1, len(rows[0]))
        total, bias_total, squared_error = algorithm.gradient(weights, bias, rows)
        weights, bias = algorithm.step(weights, bias, total, bias_total, len(rows), learning_rate, regularization)
        metrics = {"train_mse": squared_error / len(rows)}
        if validation_rows:
            metrics["validation_mse"] = algorithm.mean_squared_error(weights, bias, validation_rows)
        algorithm.report_epoch(epoch, metrics)
        algorithm.stop_requested.wait(epoch_pause)  # as in the reference: a stop signal can arrive mid-run
    return {"features": len(weights), "weights": weights, "bias": bias}


def main():
    if input_mode(CHANNEL) == "Pipe":
        # The reference's train_main, fed from the FIFOs: it still reads the hyperparameters and the validation
        # channel (File mode), saves the model and writes the failure file as it does in File mode.
        algorithm.read_training_rows = lambda: epoch_rows(0)
        algorithm.fit = fit
    return algorithm.train_main()
