#!/usr/bin/env python3
"""Writes the tokenizer benchmark's mixed corpus, deterministically.

usage: tok_corpus.py SHARED_DIR OUT [MB]   (default 10 MB)

Real text is read in place from SHARED_DIR/datasets/*/*.jsonl (every string
field of 40+ characters: problem statements, prompts, code, tests) and from
SHARED_DIR/tokenizer/gemma3/golden.jsonl; nothing is copied into the repo.
It is mixed with generated English prose (words drawn from the real text),
LaTeX, Python, CJK, emoji and accented text from a fixed-seed PRNG, so the
same arguments always give the same bytes.
"""
import glob
import json
import os
import random
import sys

CJK = ("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后"
       "小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知"
       "民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新"
       "什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别"
       "処総才場師書比住員九笑性通目華報立馬命張活難神数件安表原車白応路期叫死常提感金何更反合放做系計或司利受")
KANA = "これはテストですひらがなとカタカナの文章を書きますよろしくおねがいしますコンピュータープログラム"
EMOJI = ["😀", "😂", "🤣", "😊", "😍", "🥰", "👍", "👏", "🙌", "🎉", "🔥", "💯", "✨", "🚀", "🌍",
         "❤️", "💔", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇺🇸", "🇯🇵", "🤖", "🧠", "📈", "✅", "❌", "⚠️", "👋🏽", "🥲"]
ACCENTS = ["café", "naïve", "résumé", "Zürich", "São Paulo", "façade", "El Niño", "Ångström",
           "Dvořák", "Łódź", "smörgåsbord", "crème brûlée", "Ελληνικά", "Русский текст", "עברית", "العربية"]


def strings(v):
    if isinstance(v, str):
        if len(v) >= 40:
            yield v
    elif isinstance(v, dict):
        for x in v.values():
            yield from strings(x)
    elif isinstance(v, list):
        for x in v:
            yield from strings(x)


def main():
    shared, out = sys.argv[1], sys.argv[2]
    size = int(float(sys.argv[3]) * 1e6) if len(sys.argv) > 3 else 10_000_000
    rng = random.Random(20250601)
    texts = []
    for f in sorted(glob.glob(os.path.join(shared, "datasets", "*", "*.jsonl"))):
        with open(f, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    texts.extend(strings(json.loads(line)))
    with open(os.path.join(shared, "tokenizer", "gemma3", "golden.jsonl"), encoding="utf-8") as fh:
        golden = [json.loads(l)["text"] for l in fh if l.strip()]
    if not texts:
        sys.exit("tok_corpus.py: no dataset text found under " + shared)
    words = [w for t in texts for w in t.split() if w.isalpha() and len(w) < 15]
    idents = sorted({w.lower() for w in words if w.isascii()})

    def prose():
        sents = []
        for _ in range(rng.randint(2, 6)):
            ws = [rng.choice(words) for _ in range(rng.randint(6, 24))]
            ws[0] = ws[0].capitalize()
            sents.append(" ".join(ws) + rng.choice([".", ".", ".", "?", "!", ";"]))
        return " ".join(sents)

    def latex():
        v = lambda: rng.choice("abcdnxyzkmt")
        n = lambda: str(rng.randint(0, 2025))
        parts = [f"\\frac{{{v()}^{{{n()}}}}}{{{n()}}}", f"\\sqrt{{{v()}^2 + {v()}^2}}",
                 f"\\sum_{{{v()}=1}}^{{{n()}}} {v()}_{{{v()}}}", f"\\binom{{{n()}}}{{{v()}}}",
                 f"\\int_0^{{\\pi}} \\sin^2({v()})\\,d{v()}", f"{v()} \\equiv {n()} \\pmod{{{n()}}}",
                 f"\\left( {v()} + \\tfrac{{1}}{{{n()}}} \\right)^{{{n()}}}", f"\\lfloor {v()}/{n()} \\rfloor",
                 f"\\angle {v().upper()}{v().upper()}{v().upper()} = {n()}^\\circ", f"\\log_{{{n()}}} {v()}"]
        eq = " + ".join(rng.choice(parts) for _ in range(rng.randint(1, 4))) + f" = {n()}"
        return rng.choice([f"Compute ${eq}$.", f"$$\n{eq}\n$$", f"Let ${v()} > {n()}$ such that ${eq}$."])

    def code():
        name = "_".join(rng.choice(idents) for _ in range(rng.randint(1, 3)))
        args = ", ".join(rng.choice(idents) for _ in range(rng.randint(0, 3)))
        lines = [f"def {name}({args}):", f'    """{prose()[:80]}"""']
        for _ in range(rng.randint(2, 10)):
            a, b = rng.choice(idents), rng.choice(idents)
            lines.append(rng.choice([f"    {a} = {b} + {rng.randint(0, 99)}", f"    for {a} in range(len({b})):",
                                     f"        {a}[{rng.randint(0, 9)}] += {b} * 2", f"    if {a} >= {b}:",
                                     f"        return {a} // {rng.randint(1, 9)}", f"    {a}.append(({b}, {a}))",
                                     f"    print(f\"{{{a}}}: {{{b}!r}}\")"]))
        lines.append(f"    return {rng.choice(idents)}")
        return "\n".join(lines)

    def cjk():
        s = "".join(rng.choice(CJK) for _ in range(rng.randint(10, 80)))
        return s + rng.choice(["。", "，", "？", "！"]) + "".join(rng.choice(KANA) for _ in range(rng.randint(0, 20)))

    def emoji():
        return " ".join(rng.choice(words) + ("" if rng.random() < 0.5 else " " + rng.choice(EMOJI))
                        for _ in range(rng.randint(3, 12))) + " " + "".join(rng.choice(EMOJI) for _ in range(3))

    def misc():
        return rng.choice(golden) if rng.random() < 0.5 else " ".join(rng.choice(ACCENTS) for _ in range(6))

    gens = [(lambda: rng.choice(texts), 30), (prose, 20), (latex, 15), (code, 15), (cjk, 10), (emoji, 5), (misc, 5)]
    pool = [g for g, w in gens for _ in range(w)]
    parts, n = [], 0
    while n < size:
        s = rng.choice(pool)() + rng.choice(["\n", "\n\n", " "])
        parts.append(s)
        n += len(s.encode("utf-8"))
    data = "".join(parts).encode("utf-8")
    with open(out, "wb") as fh:
        fh.write(data)


if __name__ == "__main__":
    main()
