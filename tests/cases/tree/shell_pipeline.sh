#!/bin/bash
# A shell pipeline (producer | filter | sort) in the background of a script, with 200 lines
# queued in the first pipe at the checkpoint: the filter starts reading only after GO.
produce() { for i in $(seq 1 200); do echo "line $i"; done; }
filter() {
  while [[ ! -e "$CRCORE_CASE_GO" ]]; do sleep 0.01; done
  tr a-z A-Z
}
produce | filter | sort -t' ' -k2 -n -r &
pipeline=$!
# Live: the producer has written everything into the pipe and the filter waits for GO.
sleep 0.3
touch "$CRCORE_CASE_READY"
wait "$pipeline"
echo "pipeline: exit $?"
