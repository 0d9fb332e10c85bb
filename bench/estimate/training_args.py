"""Dump TrainingArguments fields (name, type, default) of the installed transformers, and the HfArgumentParser error for an unknown flag."""
import dataclasses, json, sys
import transformers
from transformers import HfArgumentParser, TrainingArguments
fields = []
for f in dataclasses.fields(TrainingArguments):
    if not f.init:
        continue
    default = f.default if f.default is not dataclasses.MISSING else (f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
    try:
        json.dumps(default)
    except TypeError:
        default = str(default)
    fields.append({"name": f.name, "type": str(f.type), "default": default, "help": (f.metadata or {}).get("help", "")[:300]})
out = {"transformers": transformers.__version__, "fields": fields}
try:
    HfArgumentParser((TrainingArguments,)).parse_args_into_dataclasses(["--output_dir", "/tmp/o", "--evaluation_strategy", "steps", "--logging_dir", "x"])
except BaseException as e:
    out["unknown_flag_error"] = f"{type(e).__name__}: {e}"
json.dump(out, open(sys.argv[1], "w"), indent=1)
print(len(fields), out.get("unknown_flag_error"))
