"""``POST /v1/audio/transcriptions`` and ``POST /v1/audio/translations``.

Each endpoint is a small ASGI app rather than a request → response function, so the
uploaded file stays open (and is removed right after) for the whole response, streamed
or not: parse the form (size cap while streaming), resolve the model (404 if unknown),
run the transcription in a worker thread (aborted if the client leaves), then render
the requested format or stream server-sent events.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from localwhisper.errors import InvalidRequest
from localwhisper.formatters import format_transcription
from localwhisper.types import Task, Transcription

from .audio_request import AudioRequest, parse_audio_request
from .errors import request_id_of
from .forms import receive_form
from .services import services_of
from .sse import SegmentCallback, TranscriptEventStream


def render(result: Transcription, audio: AudioRequest) -> Response:
    body, media_type = format_transcription(
        result, audio.response_format, include_segments=audio.include_segments,
        include_words=audio.include_words, include_logprobs=audio.include_logprobs, **audio.line_options)
    return Response(body, media_type=media_type)


class AudioEndpoint:
    def __init__(self, task: Task) -> None:
        self.task: Task = task

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        services = services_of(request)
        settings = services.settings
        async with receive_form(request, max_file_bytes=settings.max_upload_bytes,
                                read_timeout_s=settings.read_timeout_s) as form:
            audio = parse_audio_request(form, self.task)
            request.state.model = audio.model
            model = await services.runner.model(audio.model)
            options = audio.options(model.default_options)
            if form.file is None:  # parse_audio_request guarantees it; keeps the type checker honest
                raise InvalidRequest("The audio file must be sent as the form field 'file'.", param="file")
            upload = form.file.file

            async def run(on_segment: SegmentCallback | None = None) -> Transcription:
                return await services.runner.transcribe(model, upload, options, receive=receive,
                                                        on_segment=on_segment)

            response: Response | TranscriptEventStream
            if audio.stream:
                response = TranscriptEventStream(run, with_segments=audio.stream_segments,
                                                 with_logprobs=audio.include_logprobs,
                                                 request_id=request_id_of(request))
            else:
                response = render(await run(), audio)
            await response(scope, receive, send)


ROUTES = [
    Route("/v1/audio/transcriptions", AudioEndpoint("transcribe"), methods=["POST"]),
    Route("/v1/audio/translations", AudioEndpoint("translate"), methods=["POST"]),
]
