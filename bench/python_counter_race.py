#!/usr/bin/env python3
"""Seed 003 says the GIL "prevents race conditions". It does not prevent
this one: two threads add one to a global counter, reading it and writing it
back as two statements. `pizzeria race` is the C++ side of the experiment;
docs/seeds/races-and-deadlock.md compares the two.

CPython lets another thread run only at its "eval breaker" checks (a
backward jump, a function call), after the switch interval (5 ms). With
nothing between the read and the write, the switch always falls between
whole increments and nothing is lost; a call between them is a switch
point, and updates are lost.

Usage: python3 bench/python_counter_race.py [increments per thread]
"""
import sys
import threading

INCREMENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
counter = 0


def nothing():
    pass


def read_then_write():
    global counter
    for _ in range(INCREMENTS):
        seen = counter
        counter = seen + 1


def read_call_then_write():
    global counter
    for _ in range(INCREMENTS):
        seen = counter
        nothing()  # a point where the interpreter may switch threads
        counter = seen + 1


def run(body):
    global counter
    counter = 0
    threads = [threading.Thread(target=body) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = 2 * INCREMENTS
    print(f"  {body.__name__:22} expected {expected}, counted {counter}, "
          f"lost {expected - counter} ({100 * (expected - counter) / expected:.1f}%)")


print(f"python {sys.version.split()[0]}: 2 threads x {INCREMENTS} increments of one global")
run(read_then_write)
run(read_call_then_write)
