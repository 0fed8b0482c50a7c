"""Data-parallel training of the reference model over the hosts in resourceconfig.json, standard library only.

The leader (hosts[0]) and each worker compute the gradient on their shard of the training rows; every epoch the
workers send theirs to the leader, which sums them, takes the step and sends the weights back. The broken
samples replace one piece: hosts_of (where the hosts come from), or saves_model and model_document (which hosts
write the model, and what)."""

import json
import socket
import sys
import time
import traceback

import algorithm

RESOURCE_CONFIG = algorithm.OPT_ML / "input" / "config" / "resourceconfig.json"
PORT = 7070
RENDEZVOUS_SECONDS = 30  # how long hosts wait for each other; name lookups are retried meanwhile (TRAIN-10)


def hosts_of(config):
    return config["hosts"]


def saves_model(host, leader):
    return host == leader  # SageMaker packs every host's /opt/ml/model into one archive: one writer


def model_document(model, host):
    return model


def shard(rows, rank, count):
    """This host's part of the rows: a FullyReplicated channel gives every host all of them."""
    channel = json.loads(algorithm.INPUT_DATA_CONFIG.read_text(encoding="utf-8")).get("training", {})
    if channel.get("S3DistributionType", "FullyReplicated") != "FullyReplicated":
        return rows  # ShardedByS3Key: the rows here are this host's already
    return rows[rank::count]


def gradient(weights, bias, rows):
    total, bias_total, squared = algorithm.gradient(weights, bias, rows)
    return {"gradient": total, "bias_gradient": bias_total, "squared_error": squared, "rows": len(rows)}


def send(stream, message):
    stream.write((json.dumps(message) + "\n").encode())
    stream.flush()


def receive(stream):
    line = stream.readline()
    if not line:
        raise ConnectionError("a peer closed its connection")
    return json.loads(line)


def accept_workers(count):
    listener = socket.create_server(("", PORT))
    listener.settimeout(RENDEZVOUS_SECONDS)
    workers = []
    try:
        while len(workers) < count:
            connection, _ = listener.accept()
            stream = connection.makefile("rwb")
            workers.append((receive(stream)["host"], stream))
    except socket.timeout:
        raise algorithm.BadInput(f"only {len(workers)} of {count} workers connected within {RENDEZVOUS_SECONDS} s: "
                                 f"{[host for host, _ in workers]}") from None
    finally:
        listener.close()
    return workers


def connect(leader, host):
    deadline = time.monotonic() + RENDEZVOUS_SECONDS
    while True:
        try:
            stream = socket.create_connection((leader, PORT), timeout=RENDEZVOUS_SECONDS).makefile("rwb")
            send(stream, {"host": host})
            return stream
        except OSError as error:  # not resolvable or not listening yet: retry until the deadline
            if time.monotonic() > deadline:
                raise algorithm.BadInput(f"could not reach the leader {leader}:{PORT} in {RENDEZVOUS_SECONDS} s: "
                                         f"{error}") from None
            time.sleep(0.2)


def lead(rows, workers, epochs, learning_rate, epoch_pause, regularization="none", validation_rows=None):
    features = len(rows[0]) - 1
    weights, bias = [0.0] * features, 0.0
    for epoch in range(1, epochs + 1):
        parts = [gradient(weights, bias, rows)] + [receive(stream) for _, stream in workers]
        count = sum(part["rows"] for part in parts)
        total = [sum(part["gradient"][i] for part in parts) for i in range(features)]
        weights, bias = algorithm.step(weights, bias, total, sum(part["bias_gradient"] for part in parts), count,
                                       learning_rate, regularization)
        last = epoch == epochs or algorithm.stop_requested.is_set()
        for _, stream in workers:
            send(stream, {"weights": weights, "bias": bias, "done": last})
        metrics = {"train_mse": sum(part["squared_error"] for part in parts) / count}
        if validation_rows:
            metrics["validation_mse"] = algorithm.mean_squared_error(weights, bias, validation_rows)
        algorithm.report_epoch(epoch, metrics)
        if last:
            break
        algorithm.stop_requested.wait(epoch_pause)
    return {"features": features, "weights": weights, "bias": bias}


def follow(rows, stream):
    weights, bias = [0.0] * (len(rows[0]) - 1), 0.0
    while True:
        send(stream, gradient(weights, bias, rows))
        reply = receive(stream)
        weights, bias = reply["weights"], reply["bias"]
        if reply["done"]:
            return {"features": len(weights), "weights": weights, "bias": bias}


def main():
    config = json.loads(RESOURCE_CONFIG.read_text(encoding="utf-8"))
    hosts, host = hosts_of(config), config["current_host"]
    try:
        rank = hosts.index(host)  # this host's place in the job
    except ValueError:
        message = f"the current host {host} is not among the hosts {hosts}"
        print(f"training failed: {message}", file=sys.stderr)
        algorithm.write_failure(message)
        return algorithm.FAILURE_EXIT_CODE
    if len(hosts) == 1:
        return algorithm.train_main()
    algorithm.install_stop_handler()
    leader = hosts[0]
    try:
        hyperparameters = algorithm.read_hyperparameters()
        rows = algorithm.read_training_rows()
        mine = shard(rows, rank, len(hosts))
        if rank == 0:
            validation = algorithm.VALIDATION_CHANNEL
            validation_rows = algorithm.read_rows(validation, len(rows[0])) if validation.is_dir() else None
            model = lead(mine, accept_workers(len(hosts) - 1), validation_rows=validation_rows, **hyperparameters)
        else:
            model = follow(mine, connect(leader, host))
        if saves_model(host, leader):
            algorithm.save_model(model_document(model, host), algorithm.MODEL_DIR)
            print(f"training complete on {host}: model saved to", algorithm.MODEL_DIR / "model.json")
        else:
            print(f"training complete on {host}: the leader {leader} saves the model")
        return 0
    except Exception as error:
        print(f"training failed on {host}: {error}", file=sys.stderr)
        algorithm.write_failure(f"{error}\n\n{traceback.format_exc()}")
        return algorithm.FAILURE_EXIT_CODE
