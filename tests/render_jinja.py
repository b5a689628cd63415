#!/usr/bin/python3
"""Reference renderer for tests/test_chat.c: renders a conversation with the
chat_template of a tokenizer_config.json through jinja2, set up the way
Hugging Face transformers does (ImmutableSandboxedEnvironment with
trim_blocks and lstrip_blocks, a raise_exception global, bos_token /
eos_token from the config).

usage: render_jinja.py CONFIG CONVERSATION.json [--no-generation-prompt]

The conversation file is {"messages": [...]} or a bare array.  The prompt
goes to stdout as UTF-8 with nothing added; a template error goes to stderr
and the exit status is 1.  Run it with Debian's /usr/bin/python3
(python3-jinja2); exit status 3 means jinja2 is missing.
"""
import json
import sys

try:
    import jinja2
    import jinja2.sandbox
except ImportError:
    sys.stderr.write("jinja2 is not installed for %s\n" % sys.executable)
    sys.exit(3)


def token(cfg, key):
    v = cfg.get(key)
    if isinstance(v, dict):
        v = v.get("content")
    return v


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    add_gen = "--no-generation-prompt" not in sys.argv[1:]
    with open(args[0], encoding="utf-8") as f:
        cfg = json.load(f)
    with open(args[1], encoding="utf-8") as f:
        conv = json.load(f)
    messages = conv["messages"] if isinstance(conv, dict) else conv

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    template = env.from_string(cfg["chat_template"])
    try:
        text = template.render(messages=messages, add_generation_prompt=add_gen,
                               bos_token=token(cfg, "bos_token"),
                               eos_token=token(cfg, "eos_token"))
    except jinja2.exceptions.TemplateError as e:
        sys.stderr.write("template error: %s\n" % e)
        sys.exit(1)
    sys.stdout.buffer.write(text.encode("utf-8"))


if __name__ == "__main__":
    main()
