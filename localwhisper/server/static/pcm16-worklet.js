// AudioWorklet processor: microphone samples (any context rate, any channel count) ->
// 16-bit little-endian PCM, mono, at `targetRate` (24 kHz for the realtime API), posted to
// the page in chunks of `chunkMs` as transferable ArrayBuffers.
//
// Resampling: a fourth-order Butterworth low-pass (two biquads) below the target's Nyquist
// frequency when the context runs faster than the target, then linear interpolation whose
// read position carries across the 128-frame render quanta. At equal rates samples pass
// straight through. The page posts "flush" to get the partial chunk that is left.
"use strict";

class Biquad {
  // Butterworth low-pass (RBJ cookbook form, Q = 1/sqrt(2)), direct form I.
  constructor(cutoff, rate) {
    const w0 = 2 * Math.PI * cutoff / rate;
    const alpha = Math.sin(w0) / Math.SQRT2;
    const cos = Math.cos(w0);
    const a0 = 1 + alpha;
    this.b0 = (1 - cos) / 2 / a0;
    this.b1 = (1 - cos) / a0;
    this.b2 = this.b0;
    this.a1 = -2 * cos / a0;
    this.a2 = (1 - alpha) / a0;
    this.x1 = this.x2 = this.y1 = this.y2 = 0;
  }

  filter(samples) {
    for (let i = 0; i < samples.length; i++) {
      const x = samples[i];
      const y = this.b0 * x + this.b1 * this.x1 + this.b2 * this.x2 - this.a1 * this.y1 - this.a2 * this.y2;
      this.x2 = this.x1; this.x1 = x;
      this.y2 = this.y1; this.y1 = y;
      samples[i] = y;
    }
  }
}

class Pcm16Capture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const opts = (options && options.processorOptions) || {};
    this.targetRate = opts.targetRate || 24000;
    this.step = sampleRate / this.targetRate; // input samples per output sample
    this.chunkLength = Math.max(1, Math.round(this.targetRate * (opts.chunkMs || 100) / 1000));
    this.chunk = new Int16Array(this.chunkLength);
    this.filled = 0;
    this.position = 0; // read position of the next output sample, relative to this quantum's start
    this.previous = 0; // the last input sample of the previous quantum (index -1)
    this.filters = this.step > 1
      ? [new Biquad(0.45 * this.targetRate, sampleRate), new Biquad(0.45 * this.targetRate, sampleRate)]
      : [];
    this.mono = new Float32Array(128);
    this.port.onmessage = (event) => { if (event.data === "flush") this.flush(); };
  }

  push(value) {
    const clamped = Math.max(-1, Math.min(1, value));
    this.chunk[this.filled++] = Math.round(clamped < 0 ? clamped * 0x8000 : clamped * 0x7fff);
    if (this.filled === this.chunkLength) this.flush();
  }

  flush() {
    if (this.filled === 0) return;
    const out = this.chunk.slice(0, this.filled);
    this.port.postMessage(out.buffer, [out.buffer]);
    this.filled = 0;
  }

  downmix(channels) {
    const length = channels[0].length;
    if (this.mono.length !== length) this.mono = new Float32Array(length);
    const mono = this.mono;
    mono.set(channels[0]);
    for (let c = 1; c < channels.length; c++) {
      const channel = channels[c];
      for (let i = 0; i < length; i++) mono[i] += channel[i];
    }
    if (channels.length > 1) for (let i = 0; i < length; i++) mono[i] /= channels.length;
    return mono;
  }

  process(inputs) {
    const channels = inputs[0];
    if (!channels || channels.length === 0) return true; // no input connected (yet)
    const samples = this.downmix(channels);
    if (this.step === 1) {
      for (let i = 0; i < samples.length; i++) this.push(samples[i]);
      return true;
    }
    for (const filter of this.filters) filter.filter(samples);
    const last = samples.length - 1;
    let position = this.position;
    while (position < last) {
      const index = Math.floor(position);
      const left = index < 0 ? this.previous : samples[index];
      this.push(left + (samples[index + 1] - left) * (position - index));
      position += this.step;
    }
    this.position = position - samples.length;
    this.previous = samples[last];
    return true;
  }
}

registerProcessor("pcm16-capture", Pcm16Capture);
