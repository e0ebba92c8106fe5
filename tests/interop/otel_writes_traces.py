"""Writes the spans of three agent runs with the OpenTelemetry Python SDK, as OTLP JSON.

Usage: python otel_writes_traces.py OUT.json

The spans follow the GenAI semantic conventions (an `invoke_agent` span carrying the task id,
`chat` spans with usage and output messages, an `execute_tool` span), are collected by the
SDK's in-memory exporter and encoded by the SDK's own OTLP encoder
(`opentelemetry.exporter.otlp.proto.common`), then written as OTLP/HTTP JSON
(`google.protobuf.json_format`). Prints, on stdout, what the spans say of each task (tokens,
tool calls, answer) for the Rust side to check against its own reading.
"""

import json
import sys

from google.protobuf.json_format import MessageToJson
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

RUNS = [
    # task id, city asked for, the answer, chat usages
    ("paris", "Paris", "It is 18 degrees in Paris.", [(20, 5), (10, 7)]),
    ("rome", "Milan", "It is 18 degrees in Milan.", [(22, 6), (11, 8)]),
    ("oslo", "Oslo", None, [(19, 4)]),
]


def chat(tracer, usage, parts, finish):
    with tracer.start_as_current_span("chat small") as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.request.model", "small")
        span.set_attribute("gen_ai.usage.input_tokens", usage[0])
        span.set_attribute("gen_ai.usage.output_tokens", usage[1])
        span.set_attribute(
            "gen_ai.output.messages",
            json.dumps([{"role": "assistant", "parts": parts, "finish_reason": finish}]),
        )


def main(out):
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "weather-agent"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("weather-agent")
    expected = {}
    for task_id, city, answer, usages in RUNS:
        with tracer.start_as_current_span("invoke_agent weather") as agent:
            agent.set_attribute("gen_ai.operation.name", "invoke_agent")
            agent.set_attribute("eval.task_id", task_id)
            call_id = f"call-{task_id}"
            chat(tracer, usages[0], [{"type": "tool_call", "id": call_id, "name": "get_weather",
                                      "arguments": {"city": city}}], "tool_calls")
            with tracer.start_as_current_span("execute_tool get_weather") as tool:
                tool.set_attribute("gen_ai.operation.name", "execute_tool")
                tool.set_attribute("gen_ai.tool.name", "get_weather")
                tool.set_attribute("gen_ai.tool.call.id", call_id)
                if answer is None:
                    tool.set_attribute("error.type", "timeout")
                else:
                    tool.set_attribute("gen_ai.tool.call.result", json.dumps({"temp_c": 18}))
            if answer is None:
                agent.set_status(Status(StatusCode.ERROR, "the weather service timed out"))
            else:
                chat(tracer, usages[1], [{"type": "text", "content": answer}], "stop")
        expected[task_id] = {
            "input_tokens": sum(u[0] for u in usages),
            "output_tokens": sum(u[1] for u in usages),
            "tool_calls": [{"name": "get_weather", "arguments": {"city": city}}],
            "answer": answer,
            "failed": answer is None,
        }
    provider.shutdown()
    request = encode_spans(exporter.get_finished_spans())
    with open(out, "w", encoding="utf-8") as file:
        file.write(MessageToJson(request))
    print(json.dumps(expected))


if __name__ == "__main__":
    main(sys.argv[1])
