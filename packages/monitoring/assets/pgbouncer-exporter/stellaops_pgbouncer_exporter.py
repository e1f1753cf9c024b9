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
4. Nothing exported PgBouncer's own limits: `pgbouncer_config_<key>` from SHOW
   CONFIG (max_client_conn, default_pool_size, …) lets the rules compute client
   connection saturation.
5. The exporter opens one admin-console connection at start and never
   reconnects, so a PgBouncer restart left it failing forever. Reconnect on the
   next scrape instead (the failed scrape shows as `up == 0`).
"""
from prometheus_client.core import REGISTRY, GaugeMetricFamily
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


CONFIG_KEYS = {
    'max_client_conn': "Maximum number of client connections allowed (max_client_conn)",
    'default_pool_size': "Server connections allowed per user/database pair (default_pool_size)",
    'reserve_pool_size': "Additional server connections allowed to a pool under load (reserve_pool_size)",
    'max_db_connections': "Maximum server connections per database, 0 = unlimited (max_db_connections)",
}


class ConfigCollector(collectors.PgBouncerCollector):
    """PgBouncer's limits from SHOW CONFIG, as pgbouncer_config_<key> gauges."""

    def collect(self):
        with self.connection.cursor() as cursor:
            cursor.execute('SHOW CONFIG;')
            names = [column.name for column in cursor.description]
            values = {row[names.index('key')]: row[names.index('value')] for row in cursor.fetchall()}
        for key, documentation in sorted(CONFIG_KEYS.items()):
            if key in values:
                yield GaugeMetricFamily('%s_config_%s' % (self.namespace, key), documentation, value=float(values[key]))


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


def _connect(*args):
    connection = ReconnectingConnection(lambda: _get_connection(*args))
    REGISTRY.register(ConfigCollector(connection=connection))
    return connection


cli.get_connection = _connect

if __name__ == '__main__':
    cli.main()
