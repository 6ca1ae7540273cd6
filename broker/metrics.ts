// One Prometheus registry per gateway instance (not prom-client's global one),
// so several gateways in one test process keep separate counts.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { REJECT_REASONS } from './contract/telemetry.js';

/** Live figures owned by other components, read when /metrics is scraped. */
export interface MetricSources {
  admission?: () => { inFlight: number; waiting: number };
}

/**
 * A counter of MQTT PUBLISH packets by QoS whose hot path is `counts[qos]++`
 * (issue #9, item 5). prom-client's inc() builds a label hash and a result
 * object on every call, even on a child from .labels(), so the broker counts
 * in plain numbers and the counter catches up when /metrics is scraped.
 */
function publishCounter(registry: Registry, name: string, help: string): Float64Array {
  const counts = new Float64Array(3);
  const reported = new Float64Array(3);
  new Counter({
    name,
    help,
    labelNames: ['qos'] as const,
    registers: [registry],
    collect() {
      for (let qos = 0; qos < 3; qos++) {
        this.inc({ qos: String(qos) }, counts[qos]! - reported[qos]!);
        reported[qos] = counts[qos]!;
      }
    },
  });
  return counts;
}

export function createMetrics() {
  const registry = new Registry();
  const sources: MetricSources = {};
  // Node's default metrics under the gateway's prefix: gateway_process_cpu_seconds_total, gateway_nodejs_eventloop_lag_seconds, ...
  collectDefaultMetrics({ register: registry, prefix: 'gateway_' });
  const metrics = {
    registry,
    sources,
    readingsAccepted: new Counter({
      name: 'gateway_readings_accepted_total',
      help: 'Telemetry readings that passed validation and were queued for the store',
      registers: [registry],
    }),
    readingsRejected: new Counter({
      name: 'gateway_readings_rejected_total',
      help: 'Telemetry publishes refused by validation, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    readingsStored: new Counter({
      name: 'gateway_readings_stored_total',
      help: 'Readings committed to the store',
      registers: [registry],
    }),
    readingsDropped: new Counter({
      name: 'gateway_readings_dropped_total',
      help: 'Accepted readings that could not be stored, by reason (should stay 0)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    storeWriteErrors: new Counter({
      name: 'gateway_store_write_errors_total',
      help: 'Failed batch writes (each is retried)',
      registers: [registry],
    }),
    batchWriteSeconds: new Histogram({
      name: 'gateway_store_batch_write_seconds',
      help: 'Time to commit one batch',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    readingsSpooled: new Counter({
      name: 'gateway_readings_spooled_total',
      help: 'Accepted readings written to the on-disk spool because the store failed or fell behind',
      registers: [registry],
    }),
    readingsReplayed: new Counter({
      name: 'gateway_readings_replayed_total',
      help: 'Spooled readings written to the store',
      registers: [registry],
    }),
    readingsRetried: new Counter({
      name: 'gateway_readings_retried_total',
      help: 'Readings in failed store writes, to be written again from the spool',
      registers: [registry],
    }),
    spoolReadings: new Gauge({
      name: 'gateway_spool_readings',
      help: 'Readings in the on-disk spool, waiting for the store',
      registers: [registry],
    }),
    spoolBytes: new Gauge({
      name: 'gateway_spool_bytes',
      help: 'Size of the on-disk spool',
      registers: [registry],
    }),
    ingestQueueDepth: new Gauge({
      name: 'gateway_ingest_queue_depth',
      help: 'Accepted readings waiting in memory, not yet stored or spooled',
      registers: [registry],
    }),
    mqttConnections: new Gauge({
      name: 'gateway_mqtt_connections',
      help: 'Connected MQTT clients by transport',
      labelNames: ['transport'] as const,
      registers: [registry],
    }),
    httpLongPollsOpen: new Gauge({
      name: 'gateway_http_long_polls_open',
      help: 'Long-poll requests waiting for a commit',
      registers: [registry],
    }),
    httpStreamsOpen: new Gauge({
      name: 'gateway_http_sse_streams_open',
      help: 'Open Server-Sent Events streams',
      registers: [registry],
    }),
    httpRefused: new Counter({
      name: 'gateway_http_refused_total',
      help: 'Long polls and streams refused with 503 because their limit was reached',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    mqttConnectRefused: new Counter({
      name: 'gateway_mqtt_connect_refused_total',
      help: 'CONNECTs refused, by reason (credentials, limits, bans)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    mqttPolicyDenied: new Counter({
      name: 'gateway_mqtt_policy_denied_total',
      help: 'Publishes (connection closed) and subscriptions (SUBACK 0x80) the policy refused',
      labelNames: ['action'] as const,
      registers: [registry],
    }),
    mqttDropped: new Counter({
      name: 'gateway_mqtt_dropped_total',
      help: 'Publishes shed at the edge, never routed or stored, by QoS and reason (rate_limited, overload)',
      labelNames: ['qos', 'reason'] as const,
      registers: [registry],
    }),
    memoryPressure: new Gauge({
      name: 'gateway_memory_pressure',
      help: '1 while the process is above 90% of MEMORY_LIMIT_MB and sheds or holds back publishes',
      registers: [registry],
    }),
    mqttInFlight: new Gauge({
      name: 'gateway_mqtt_inflight_messages',
      help: 'Publishes being routed, and QoS 1/2 publishes waiting for a slot',
      labelNames: ['state'] as const,
      registers: [registry],
      collect() {
        const stats = sources.admission?.();
        if (!stats) return;
        this.set({ state: 'routing' }, stats.inFlight);
        this.set({ state: 'waiting' }, stats.waiting);
      },
    }),
    mqttAdmissionWaits: new Counter({
      name: 'gateway_mqtt_admission_waits_total',
      help: 'Publishes that had to wait for a routing slot (overload backpressure), by QoS',
      labelNames: ['qos'] as const,
      registers: [registry],
    }),
    mqttThrottled: new Counter({
      name: 'gateway_mqtt_throttled_total',
      help: 'Publishes over the per-connection rate: QoS 1/2 delayed, repeat QoS 0 offenders disconnected',
      labelNames: ['qos', 'action'] as const,
      registers: [registry],
    }),
    mqttForwardDropped: new Counter({
      name: 'gateway_mqtt_forward_dropped_total',
      help: 'Messages not delivered to a subscriber whose socket was backed up',
      labelNames: ['qos'] as const,
      registers: [registry],
    }),
    mqttOversized: new Counter({
      name: 'gateway_mqtt_oversized_packets_total',
      help: 'Connections closed for announcing a packet over MAX_PACKET_BYTES',
      registers: [registry],
    }),
    httpRequests: new Counter({
      name: 'gateway_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern (not the raw path, so ids do not explode the series) and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    httpRequestSeconds: new Histogram({
      name: 'gateway_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by method and route pattern; long polls and SSE streams count their whole life',
      labelNames: ['method', 'route'] as const,
      buckets: [0.001, 0.005, 0.025, 0.1, 0.5, 2.5, 10, 30, 120],
      registers: [registry],
    }),
    httpRateLimited: new Counter({
      name: 'gateway_http_rate_limited_total',
      help: 'HTTP requests refused with 429',
      registers: [registry],
    }),
    mqttClientErrors: new Counter({
      name: 'gateway_mqtt_client_errors_total',
      help: 'Connections closed by a protocol or policy error',
      registers: [registry],
    }),
    /** Index by QoS: `mqttMessagesIn[packet.qos]! += 1`. */
    mqttMessagesIn: publishCounter(registry, 'gateway_mqtt_messages_in_total', 'PUBLISH packets received from clients, by QoS'),
    /** Index by the QoS delivered (the subscription's, when lower than the message's). */
    mqttMessagesOut: publishCounter(registry, 'gateway_mqtt_messages_out_total', 'PUBLISH packets delivered to subscribers, by QoS'),
  };
  for (const reason of REJECT_REASONS) metrics.readingsRejected.inc({ reason }, 0);
  for (const reason of ['rate_limited', 'overload']) metrics.mqttDropped.inc({ qos: '0', reason }, 0);
  metrics.readingsDropped.inc({ reason: 'store_rejected' }, 0);
  metrics.readingsDropped.inc({ reason: 'spool_full' }, 0);
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;
