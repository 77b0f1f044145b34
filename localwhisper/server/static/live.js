// Live microphone transcript over the realtime WebSocket (OpenAI Realtime API, GA dialect,
// transcription session): microphone -> AudioWorklet (PCM16, 24 kHz, mono, 100 ms chunks)
// -> base64 `input_audio_buffer.append` -> server VAD cuts turns -> each turn's deltas are
// appended to its line, and its `completed` transcript replaces them.
const RATE = 24000;
const CHUNK_MS = 100;
const DRAIN_TIMEOUT_MS = 15000; // after Stop, how long to wait for the last turn's transcript

function base64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

export function realtimeUrl(model, base = location.href) {
  const url = new URL("v1/realtime", base);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("intent", "transcription");
  if (model) url.searchParams.set("model", model);
  return url.href;
}

export function sessionUpdate(model, language) {
  const transcription = { model };
  if (language) transcription.language = language;
  return {
    type: "session.update",
    session: {
      type: "transcription",
      audio: {
        input: {
          format: { type: "audio/pcm", rate: RATE },
          transcription,
          turn_detection: { type: "server_vad", threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 },
        },
      },
    },
  };
}

async function openAudio(stream) {
  // A 24 kHz context lets the browser resample; where a context cannot take a microphone at
  // another rate (some browsers refuse), use the default rate and let the worklet resample.
  for (const options of [{ sampleRate: RATE }, {}]) {
    let context;
    try {
      context = new AudioContext(options);
      const source = context.createMediaStreamSource(stream);
      return { context, source };
    } catch (err) {
      if (context) context.close();
      if (!options.sampleRate) throw err;
    }
  }
  throw new Error("no audio context");
}

export class LiveTranscription {
  // view: { list: <ol> for the transcript lines, status(text, isError) }
  constructor(view) {
    this.view = view;
    this.items = new Map();
    this.running = false;
  }

  async start({ model, language, key }) {
    if (this.running) return;
    this.running = true;
    this.speaking = false;
    this.stopping = false;
    this.pending = [];
    this.view.status("Waiting for the microphone…");
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      });
      const { context, source } = await openAudio(this.stream);
      this.context = context;
      await context.audioWorklet.addModule(new URL("pcm16-worklet.js", import.meta.url));
      if (this.stopping) throw new Error("stopped before it started");
      this.worklet = new AudioWorkletNode(context, "pcm16-capture", {
        processorOptions: { targetRate: RATE, chunkMs: CHUNK_MS },
      });
      this.worklet.port.onmessage = (event) => this.sendAudio(new Uint8Array(event.data));
      // the worklet must reach the destination to be pulled; a muted gain keeps it silent
      this.mute = context.createGain();
      this.mute.gain.value = 0;
      source.connect(this.worklet).connect(this.mute).connect(context.destination);
      this.source = source;
      await context.resume();
      this.connect(model, language, key);
    } catch (err) {
      if (this.stopping) this.view.status("Stopped.");
      else this.view.status("Microphone: " + (err.message || err), true);
      this.release();
      this.running = false;
    }
  }

  connect(model, language, key) {
    const protocols = ["realtime"];
    if (key) protocols.push("openai-insecure-api-key." + key);
    let socket;
    try {
      socket = new WebSocket(realtimeUrl(model), protocols);
    } catch (err) {
      throw new Error("cannot open the WebSocket (an API key must be a plain token to travel as a subprotocol): "
                      + err.message);
    }
    this.socket = socket;
    this.opened = false;
    socket.onopen = () => {
      this.opened = true;
      socket.send(JSON.stringify(sessionUpdate(model, language)));
      for (const chunk of this.pending) this.sendAudio(chunk);
      this.pending = [];
    };
    socket.onmessage = (event) => this.handle(JSON.parse(event.data));
    socket.onclose = (event) => {
      this.release();
      this.running = false;
      if (this.stopping) this.view.status("Stopped.");
      else if (!this.opened) this.view.status("Could not open the realtime connection (is the API key right?)", true);
      else this.view.status(`Connection closed (${event.code}${event.reason ? ": " + event.reason : ""})`, true);
      if (this.view.onEnd) this.view.onEnd();
    };
  }

  sendAudio(bytes) {
    if (!this.socket || this.socket.readyState === WebSocket.CONNECTING) {
      if (this.pending) this.pending.push(bytes);
      return;
    }
    if (this.socket.readyState !== WebSocket.OPEN) return;
    this.socket.send(JSON.stringify({ type: "input_audio_buffer.append", audio: base64(bytes) }));
  }

  item(id) {
    let entry = this.items.get(id);
    if (!entry) {
      const line = document.createElement("li");
      line.dataset.itemId = id;
      line.className = "pending";
      this.view.list.append(line);
      entry = { line, text: "", done: false };
      this.items.set(id, entry);
    }
    return entry;
  }

  handle(event) {
    switch (event.type) {
      case "session.created":
      case "transcription_session.created":
        this.view.status("Connected; configuring the session…");
        break;
      case "session.updated":
      case "transcription_session.updated":
        this.view.status("Listening… speak now.");
        break;
      case "input_audio_buffer.speech_started":
        this.speaking = true;
        this.item(event.item_id);
        this.view.status("Hearing speech…");
        break;
      case "input_audio_buffer.speech_stopped":
        this.speaking = false;
        this.view.status("Transcribing…");
        break;
      case "input_audio_buffer.committed":
      case "conversation.item.created":
        this.item(event.item_id || (event.item && event.item.id));
        break;
      case "conversation.item.input_audio_transcription.delta": {
        const entry = this.item(event.item_id);
        entry.text += event.delta;
        entry.line.textContent = entry.text;
        break;
      }
      case "conversation.item.input_audio_transcription.completed": {
        const entry = this.item(event.item_id);
        entry.text = event.transcript;
        entry.done = true;
        entry.line.textContent = event.transcript.trim();
        entry.line.className = event.transcript.trim() ? "done" : "done empty";
        if (!this.stopping) this.view.status("Listening… speak now.");
        this.closeIfDrained();
        break;
      }
      case "conversation.item.input_audio_transcription.failed": {
        const entry = this.item(event.item_id);
        entry.done = true;
        entry.line.className = "failed";
        entry.line.textContent = "(" + ((event.error && event.error.message) || "transcription failed") + ")";
        this.closeIfDrained();
        break;
      }
      case "error":
        if (!(this.stopping && event.error && event.error.code === "input_audio_buffer_commit_empty")) {
          this.view.status("Server: " + ((event.error && event.error.message) || "error"), true);
        }
        this.closeIfDrained();
        break;
      default:
        break;
    }
  }

  closeIfDrained() {
    if (!this.stopping || !this.socket) return;
    if ([...this.items.values()].every((entry) => entry.done)) this.socket.close(1000);
  }

  stop() {
    if (!this.running || this.stopping) return;
    this.stopping = true;
    if (this.worklet) this.worklet.port.postMessage("flush");
    this.view.status("Finishing the last words…");
    // give the worklet a moment to post its partial chunk, then let the microphone go
    setTimeout(() => {
      this.releaseAudio();
      if (!this.socket || this.socket.readyState !== WebSocket.OPEN) {
        if (this.socket) this.socket.close(1000);
        return;
      }
      // a turn still open has no end of speech yet: commit it by hand
      if (this.speaking) this.commit();
      else this.closeIfDrained();
      this.drainTimer = setTimeout(() => this.socket && this.socket.close(1000), DRAIN_TIMEOUT_MS);
    }, 60);
  }

  commit() {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type: "input_audio_buffer.commit" }));
    }
  }

  releaseAudio() {
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    if (this.source) this.source.disconnect();
    if (this.worklet) this.worklet.disconnect();
    if (this.context) this.context.close();
    this.stream = this.source = this.worklet = this.mute = this.context = null;
  }

  release() {
    clearTimeout(this.drainTimer);
    this.releaseAudio();
    this.socket = null;
  }
}
