// The page: upload a file and read its transcript as clickable segments over an audio
// player (streamed json/text, or verbose_json), or transcribe the microphone live (live.js).
import { LiveTranscription } from "./live.js";

const $ = (id) => document.getElementById(id);
const state = { file: null, audioUrl: null, segments: [], current: -1, controller: null, body: "", bodyFormat: "" };
const STREAMED = new Set(["json", "text"]);
const KEY_STORAGE = "localwhisper-api-key";

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function apiKey() {
  const key = $("api-key").value.trim();
  localStorage.setItem(KEY_STORAGE, key);
  return key;
}

function headers() {
  const key = apiKey();
  return key ? { Authorization: "Bearer " + key } : {};
}

function clock(ms, marker) {
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(Math.floor(ms / 3600000))}:${pad(Math.floor(ms / 60000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}${marker}${pad(ms % 1000, 3)}`;
}

const toMs = (seconds) => (seconds === null || seconds === undefined ? null : Math.max(0, Math.round(seconds * 1000)));

async function errorMessage(response) {
  try { return (await response.json()).error.message; } catch { return `HTTP ${response.status}`; }
}

async function loadModels() {
  try {
    const response = await fetch("/v1/models", { headers: headers() });
    if (!response.ok) { setStatus("Could not list models: " + await errorMessage(response), true); return; }
    const select = $("model");
    select.replaceChildren();
    for (const entry of (await response.json()).data) {
      const option = document.createElement("option");
      option.value = option.textContent = entry.id;
      select.append(option);
    }
    if ([...select.options].some((o) => o.value === "whisper-1")) select.value = "whisper-1";
  } catch (err) { setStatus("Could not list models: " + err, true); }
}

function chooseFile(file) {
  if (!file) return;
  state.file = file;
  $("file-label").textContent = `${file.name} (${(file.size / 1048576).toFixed(1)} MiB)`;
  $("submit").disabled = false;
  if (state.audioUrl) URL.revokeObjectURL(state.audioUrl);
  state.audioUrl = URL.createObjectURL(file);
  $("player").src = state.audioUrl;
  $("player").classList.remove("hidden");
}

function reset() {
  state.segments = [];
  state.current = -1;
  state.body = "";
  $("segments").replaceChildren();
  for (const id of ["transcript", "body", "download-srt", "download-vtt", "download-body"]) $(id).classList.add("hidden");
  $("transcript").textContent = "";
}

// --- the segment list: click to seek, the one being played is highlighted ---------------
function addSegment(startMs, endMs, text) {
  const index = state.segments.length;
  state.segments.push({ startMs, endMs, text });
  const item = document.createElement("li");
  const time = document.createElement("time");
  time.textContent = startMs === null ? "" : `${clock(startMs, ".")} → ${clock(endMs, ".")}`;
  const words = document.createElement("span");
  words.textContent = text;
  item.append(time, words);
  if (startMs !== null) {
    item.dataset.start = String(startMs);
    item.dataset.end = String(endMs);
    item.tabIndex = 0;
    item.title = "Play from here";
    item.addEventListener("click", () => seek(index));
    item.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); seek(index); } });
  }
  $("segments").append(item);
}

function seek(index) {
  const player = $("player");
  const segment = state.segments[index];
  if (!segment || segment.startMs === null || !player.src) return;
  player.currentTime = segment.startMs / 1000;
  highlight(index);
  player.play().catch(() => {}); // a browser may refuse to play without a gesture: the seek stays
}

function highlight(index) {
  if (index === state.current) return;
  const items = $("segments").children;
  if (items[state.current]) items[state.current].classList.remove("current");
  state.current = index;
  if (items[index]) {
    items[index].classList.add("current");
    items[index].scrollIntoView({ block: "nearest" });
  }
}

function followPlayback() {
  const ms = $("player").currentTime * 1000;
  // the segment that holds the play position; in a gap between segments, the one before it
  let index = -1;
  state.segments.forEach((s, i) => { if (s.startMs !== null && s.startMs <= ms) index = i; });
  highlight(index);
}

// --- transcription over HTTP ---------------------------------------------------------------
function handleEvent(data) {
  if (data === "[DONE]") return;
  const event = JSON.parse(data);
  if (event.error) throw new Error(event.error.message);
  if (event.type === "transcript.text.delta") {
    const segment = event.segment || {};
    addSegment(toMs(segment.start), toMs(segment.end), event.delta.trim());
  }
  if (event.type === "transcript.text.done") showText(event.text);
}

function showText(text) {
  $("transcript").textContent = text;
  $("transcript").classList.remove("hidden");
}

async function readEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const lines = buffer.slice(0, end).split("\n").filter((l) => l.startsWith("data:"));
      buffer = buffer.slice(end + 2);
      if (lines.length) handleEvent(lines.map((l) => l.slice(5).trimStart()).join("\n"));
    }
  }
}

function showVerbose(body) {
  const result = JSON.parse(body);
  for (const s of result.segments || []) addSegment(toMs(s.start), toMs(s.end), s.text.trim());
  showText(result.text);
}

function subtitles(kind) {
  const marker = kind === "srt" ? "," : ".";
  const cues = state.segments.filter((s) => s.text && s.startMs !== null).map((s, i) =>
    `${kind === "srt" ? (i + 1) + "\n" : ""}${clock(s.startMs, marker)} --> ${clock(s.endMs, marker)}\n${s.text.replaceAll("-->", "->")}\n\n`);
  return (kind === "vtt" ? "WEBVTT\n\n" : "") + cues.join("");
}

function download(text, name) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

function baseName() {
  return (state.file ? state.file.name.replace(/\.[^.]+$/, "") : "transcript") || "transcript";
}

async function transcribe() {
  if (!state.file) return;
  reset();
  const format = $("format").value;
  const streamed = STREAMED.has(format);
  const form = new FormData();
  form.append("file", state.file, state.file.name);
  form.append("model", $("model").value);
  form.append("response_format", format);
  if ($("language").value && $("task").value === "transcribe") form.append("language", $("language").value);
  if (streamed) { form.append("stream", "true"); form.append("verbose", "true"); }
  const endpoint = $("task").value === "translate" ? "/v1/audio/translations" : "/v1/audio/transcriptions";
  state.controller = new AbortController();
  $("submit").disabled = true;
  $("stop").classList.remove("hidden");
  setStatus("Uploading and transcribing…");
  const started = performance.now();
  try {
    const response = await fetch(endpoint, { method: "POST", body: form, headers: headers(), signal: state.controller.signal });
    if (!response.ok) throw new Error(await errorMessage(response));
    if (streamed) {
      await readEvents(response);
    } else {
      state.body = await response.text();
      state.bodyFormat = format;
      if (format === "verbose_json") {
        showVerbose(state.body);
      } else {
        $("body").textContent = state.body;
        $("body").classList.remove("hidden");
      }
      $("download-body").classList.remove("hidden");
    }
    if (state.segments.some((s) => s.startMs !== null)) {
      $("download-srt").classList.remove("hidden");
      $("download-vtt").classList.remove("hidden");
    }
    setStatus(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    setStatus(err.name === "AbortError" ? "stopped" : "Error: " + err.message, err.name !== "AbortError");
  } finally {
    $("submit").disabled = false;
    $("stop").classList.add("hidden");
    state.controller = null;
  }
}

// --- the microphone ----------------------------------------------------------------------
const live = new LiveTranscription({
  list: $("live"),
  status: (text, isError = false) => {
    $("live-status").textContent = text;
    $("live-status").classList.toggle("error", isError);
  },
  onEnd: () => { $("mic").textContent = "Start microphone"; $("mic").classList.remove("on"); },
});

function toggleMicrophone() {
  if (live.running) { live.stop(); return; }
  $("mic").textContent = "Stop microphone";
  $("mic").classList.add("on");
  const language = $("task").value === "transcribe" ? $("language").value : "";
  live.start({ model: $("model").value, language, key: apiKey() }).then(() => {
    if (!live.running) live.view.onEnd();
  });
}

const drop = $("drop");
drop.addEventListener("click", () => $("file").click());
drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") $("file").click(); });
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); chooseFile(e.dataTransfer.files[0]); });
$("file").addEventListener("change", (e) => chooseFile(e.target.files[0]));
$("submit").addEventListener("click", transcribe);
$("stop").addEventListener("click", () => state.controller && state.controller.abort());
$("player").addEventListener("timeupdate", followPlayback);
$("player").addEventListener("seeked", followPlayback);
$("mic").addEventListener("click", toggleMicrophone);
$("download-srt").addEventListener("click", () => download(subtitles("srt"), baseName() + ".srt"));
$("download-vtt").addEventListener("click", () => download(subtitles("vtt"), baseName() + ".vtt"));
$("download-body").addEventListener("click", () =>
  download(state.body, baseName() + "." + (state.bodyFormat === "verbose_json" ? "json" : state.bodyFormat)));
$("api-key").value = localStorage.getItem(KEY_STORAGE) || "";
$("api-key").addEventListener("change", loadModels);
if (!window.AudioWorkletNode || !navigator.mediaDevices) {
  $("mic").disabled = true;
  $("live-status").textContent = "The microphone needs a secure page (https or localhost) and AudioWorklet.";
}
loadModels();
