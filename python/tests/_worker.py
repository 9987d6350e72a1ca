"""Subprocess used by the concurrency tests: ``_worker.py <mode> <increment> <experiment> <worker id> <count>``.

mode ``mixed``: ``count`` log calls of every kind, each recorded under a name unique to the worker.
mode ``loop``: logs forever (until killed) so that the parent can kill it mid-write.
"""

import sys

from specweave_ml import track_experiment

mode, increment, name, wid, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])

with track_experiment(name, increment=increment, tags=["w%d" % wid]) as exp:
    print("started", flush=True)
    if mode == "mixed":
        for j in range(count):
            kind = j % 5
            if kind == 0:
                exp.log_param("w%d_p%d" % (wid, j), j)
            elif kind == 1:
                exp.log_metric("w%d_m%d" % (wid, j), j / 10)
            elif kind == 2:
                exp.log_metric("shared_loss", wid * 1000 + j, step=wid * 1000 + j)
            elif kind == 3:
                exp.log_note("w%d note %d" % (wid, j))
            else:
                exp.add_tag("w%d_t%d" % (wid, j))
    else:
        j = 0
        while True:
            exp.log_metric("loss%d" % wid, 1.0 / (j + 1), step=j)
            exp.log_params({"last_j": j, "blob": "x" * 2000})
            exp.log_note("note %d" % j)
            j += 1
