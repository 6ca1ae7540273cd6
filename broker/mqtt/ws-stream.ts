// MQTT over WebSocket as a Duplex over one `ws` socket, handed to aedes like
// a TCP socket. websocket-stream, used before, stacks readable-stream 2 layers,
// copies every incoming message, sends one frame per MQTT packet while the
// socket keeps up, never pauses a publisher that sends faster than aedes reads,
// and accepts text frames; ws.createWebSocketStream sends one frame per write,
// five per PUBLISH. Measurements: bench/ws-adapter.ts.
import { Duplex } from 'node:stream';
import { WebSocket } from 'ws';

type WriteCallback = (error?: Error | null) => void;

export class WebSocketStream extends Duplex {
  private corkedForTurn = false;

  /**
   * `writableHighWaterMark` is where write() starts to report backpressure:
   * the bytes this turn has written plus those `ws` has not yet handed to the
   * kernel (its bufferedAmount) count towards it, as a net.Socket's do.
   */
  constructor(private readonly ws: WebSocket, writableHighWaterMark: number) {
    super({ writableHighWaterMark, allowHalfOpen: false });
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        // [MQTT-6.0.0-1]: MQTT travels in binary frames; any other data frame closes the connection.
        this.destroy(new Error('MQTT over WebSocket needs binary frames; got a text frame'));
        return;
      }
      // binaryType is ws's default 'nodebuffer': one Buffer per message, however it was fragmented.
      if (!this.push(data as Buffer)) ws.pause();
    });
    // The peer closed: aedes reads what is left, then ends the client, as after a TCP FIN.
    ws.on('close', () => {
      if (!this.destroyed) this.push(null);
    });
    ws.on('error', (err) => this.destroy(err));
  }

  /**
   * Holds everything written in this turn of the event loop and sends it as
   * one binary frame when the turn ends. aedes writes each packet in several
   * small writes, and mqtt-packet's cork lasts only until the next tick, one
   * packet; a frame may carry several MQTT packets and a receiver must not
   * assume alignment [MQTT-6.0.0-2], so a fan-in burst to one subscriber
   * costs one frame and one syscall instead of one per message.
   */
  override write(chunk: unknown, encoding?: BufferEncoding | WriteCallback, callback?: WriteCallback): boolean {
    if (!this.corkedForTurn) {
      this.corkedForTurn = true;
      this.cork();
      setImmediate(() => this.endTurn());
    }
    return super.write(chunk, encoding as BufferEncoding, callback);
  }

  /** Called back once the frame is in the kernel, so writableLength keeps counting it until then. */
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: WriteCallback): void {
    this.ws.send(chunk, callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: WriteCallback): void {
    this.ws.send(Buffer.concat(chunks.map(({ chunk }) => chunk)), callback);
  }

  override _read(): void {
    if (this.ws.isPaused) this.ws.resume();
  }

  override _final(callback: WriteCallback): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    callback();
  }

  /**
   * aedes destroys the stream without an error to close a client (DISCONNECT,
   * a refused CONNECT): a close frame follows what was already sent. With an
   * error (keepalive or drain timeout, a protocol error) the TCP connection
   * is dropped at once, as net.Socket.destroy() does. A socket `ws` is
   * already closing after its own protocol error is left to finish that.
   */
  override _destroy(err: Error | null, callback: (err: Error | null) => void): void {
    if (this.ws.readyState === WebSocket.OPEN) {
      if (err) this.ws.terminate();
      else this.ws.close(1000);
    }
    callback(err);
  }

  private endTurn(): void {
    this.corkedForTurn = false;
    this.uncork();
  }
}
