"""Print the op table of a SavedModel and whether TF Serving's model server can load it.

Usage:
    .venv/bin/python tools/check_saved_model_ops.py saved_models/gpt-shakespeare-char/1

Exit status: 0 if every op is core TensorFlow or a tensorflow-text op, 1 if some op would not
load (a Python callback such as ``tf.py_function``, or an op of another custom-op library),
2 if the directory holds no SavedModel.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("saved_model_dir", help="a SavedModel directory (the one holding saved_model.pb)")
    args = parser.parse_args(argv)
    if not os.path.isfile(os.path.join(args.saved_model_dir, "saved_model.pb")):
        print(f"error: no saved_model.pb in {args.saved_model_dir}", file=sys.stderr)
        return 2
    # Imported here so that --help stays fast; op_check itself only imports TF protos.
    from keras_llm.export.op_check import check_saved_model_ops, format_report

    report = check_saved_model_ops(args.saved_model_dir)
    print(format_report(report))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
