// Persistent MQTT sessions in tests: a connect that reports whether the
// broker still had the session (CONNACK's session-present flag), which
// MQTT.js keeps private after connecting.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export function connectSession(url: string, options: IClientOptions): Promise<{ client: MqttClient; sessionPresent: boolean }> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options });
    client.once('connect', (connack) => resolve({ client, sessionPresent: connack.sessionPresent }));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
  });
}
