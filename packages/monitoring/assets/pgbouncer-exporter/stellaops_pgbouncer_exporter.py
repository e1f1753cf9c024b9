#!/usr/bin/python3
"""Debian's prometheus-pgbouncer-exporter 1.7, adapted to PgBouncer 1.18.

Run by @stellaops/monitoring as `/usr/bin/python3 <this file> <the exporter's
own flags>`; all the work is done by Debian's `prometheus_pgbouncer_exporter`
package. This file only fixes what that 2015-era exporter gets wrong today:

1. PgBouncer 1.8 renamed SHOW STATS' `total_requests`; the exporter dies at
   start with `KeyError: 'total_requests'`. Export `total_query_count`,
   `total_xact_count` and `total_wait_time` instead.
2. SHOW POOLS server-side columns (`sv_active`, `sv_idle`, `sv_used`) and the
   oldest client's wait (`maxwait`, `maxwait_us`) were never exported: the
   dashboard and the pool alerts need them.
3. pgbouncer_pool_size was labelled with SHOW DATABASES' `database` column (the
   server-side database name) instead of `name`, the pool's database as SHOW
   POOLS reports it, so the two could not be matched.
4. The exporter opens one admin-console connection at start and never
   reconnects, so a PgBouncer restart left it failing forever. Reconnect on the
   next scrape instead (the failed scrape shows as `up == 0`).
"""
from prometheus_pgbouncer_exporter import cli, collectors

STATS = collectors.StatsCollector.metrics
STATS.pop('total_requests', None)
STATS['total_query_count'] = ('queries_total', "SQL queries pooled by pgbouncer")
STATS['total_xact_count'] = ('transactions_total', "SQL transactions pooled by pgbouncer")
STATS['total_wait_time'] = ('client_wait_microseconds_total', "Time clients spent waiting for a server connection")

POOLS = collectors.PoolsCollector.metrics
POOLS['sv_active'] = ('server_active_connections', "Server connections linked to a client")
POOLS['sv_idle'] = ('server_idle_connections', "Server connections idle and ready for a client")
POOLS['sv_used'] = ('server_used_connections', "Server connections idle longer than server_check_delay")
POOLS['maxwait'] = ('max_wait_seconds', "Seconds the oldest waiting client has waited (whole seconds)")
POOLS['maxwait_us'] = ('max_wait_microseconds_part', "Microsecond part of the oldest client's wait")

collectors.DatabasesCollector.get_labels_for_row = lambda self, row: [row['name']]


class ReconnectingConnection:
    """A psycopg2 connection that is reopened when the previous one broke."""

    def __init__(self, connect):
        self._connect = connect
        self._connection = connect()

    def cursor(self):
        if self._connection.closed:
            self._connection = self._connect()
        return self._connection.cursor()

    def close(self):
        self._connection.close()


_get_connection = cli.get_connection
cli.get_connection = lambda *args: ReconnectingConnection(lambda: _get_connection(*args))

if __name__ == '__main__':
    cli.main()
