/* \summary: certificate chains judged ahead of the packet thread. For
 * capture files read in place, look-ahead threads (-j) read the same files
 * from the start on their own cursors, find the TLS 1.2 Certificate
 * messages and the ClientHello names, and judge each chain with
 * cert_prefetch() before the packet thread gets there; the packet thread's
 * cert_check() then finds the verdict cached, or waits for the one being
 * judged, or judges it itself when the look-ahead has not come that far.
 * Verdicts depend on the chain, the name and the time alone, so the report
 * is the same with or without look-ahead (tests/suites/threads.sh). */
#ifndef PANNE_AHEAD_H
#define PANNE_AHEAD_H

#include "panne/cert.h"
#include "panne/types.h"

#define AHEAD_MAX CERT_PREFETCH_MAX /* look-ahead threads at most (-j) */

/* -j's default: one thread per core beyond the first, at most 4. */
int ahead_default_jobs(void);

/* Opens path for look-ahead as input number file (the order of -r). Call
 * before the privilege drop, like the inputs themselves; a path that is not
 * a classic pcap file in this host's byte order or a pcapng file (a pipe,
 * standard input) is left out silently. */
void ahead_open(const char *path, u16 file);

/* Arms jobs threads over the opened inputs (none when jobs is 0 or none
 * was opened). They start, on the packet thread, when it has judged
 * START_CHAINS chains itself within 32 MiB of an input (ahead_progress),
 * and look ahead from where it is; PANNE_AHEAD_CHAINS sets that number, 0
 * starts them at once. After the privilege drop: the threads read packet
 * data. */
void ahead_start(int jobs);

/* Stops and joins the threads, closes the look-ahead inputs. Before the
 * certificate cache goes (pipeline_reset). Safe to call when none ran. */
void ahead_stop(void);

/* One look-ahead pass over path on the calling thread, with no pacing: the
 * fuzz target's entry point. -1 if path is not a file it reads. */
int ahead_scan(const char *path);

/* The packet thread's reader is at byte off of input file (every few
 * records): the threads keep a bounded distance ahead of it, and start
 * here when chains come thick. */
void ahead_progress(u16 file, u64 off);

/* 1 if the threads were started: on input *file (as numbered by
 * ahead_open) at byte *at, or with *file -1 from the start. */
int ahead_started(int *file, u64 *at);

/* What the threads did, for -v: chains seen and judged ahead, sleeps on
 * sparse stretches, MiB read. */
void ahead_stats(u64 *seen, u64 *judged, u64 *naps, u64 *mib);

#endif
