"""Checks an exported network against nasforge's own logits, without nasforge.

    python3 check_export.py EXPORT_DIR REFERENCE.safetensors

REFERENCE holds "images" (uint8 [N, C, H, W]), "labels" (int64 [N]) and "logits" (float32
[N, classes]) computed by the C++ network. Imports EXPORT_DIR/model.py, loads model.safetensors,
runs the images scaled to [0, 1] in PyTorch and, when model.onnx exists, in ONNX Runtime with two
batch sizes. Prints one JSON line with the differences and accuracies.
"""
import importlib.util
import json
import os
import sys

import torch


def import_model(directory):
    spec = importlib.util.spec_from_file_location("exported_model", os.path.join(directory, "model.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(directory, reference_path):
    model = import_model(directory)
    reference = model.read_safetensors(reference_path)
    images = reference["images"].float() / 255
    labels = reference["labels"]
    expected = reference["logits"]
    result = {"reference_accuracy": (expected.argmax(1) == labels).float().mean().item()}

    # The package-free reader and the safetensors package (when installed) agree.
    weights = model.read_safetensors(os.path.join(directory, "model.safetensors"))
    result["weights"] = len(weights)
    try:
        from safetensors.torch import load_file
        packaged = load_file(os.path.join(directory, "model.safetensors"))
        result["safetensors_package_agrees"] = packaged.keys() == weights.keys() and all(
            torch.equal(packaged[k], weights[k]) for k in weights)
    except ImportError:
        pass

    net = model.load(directory)
    result["training"] = net.training
    with torch.no_grad():
        logits = net(images)
    result["torch_max_abs_diff"] = (logits - expected).abs().max().item()
    result["torch_same_predictions"] = bool(torch.equal(logits.argmax(1), expected.argmax(1)))
    result["torch_accuracy"] = (logits.argmax(1) == labels).float().mean().item()

    onnx_path = os.path.join(directory, "model.onnx")
    if os.path.exists(onnx_path):
        import numpy as np
        import onnx
        import onnxruntime

        proto = onnx.load(onnx_path)
        onnx.checker.check_model(proto, full_check=True)
        result["onnx_opset"] = max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))
        session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        full = session.run(None, {name: images.numpy()})[0]
        part = session.run(None, {name: images[:5].numpy()})[0]  # a second batch size
        result["onnx_batch_sizes"] = [int(full.shape[0]), int(part.shape[0])]
        result["onnx_max_abs_diff"] = float(
            max(np.abs(full - expected.numpy()).max(), np.abs(part - expected[:5].numpy()).max()))
        result["onnx_same_predictions"] = bool((full.argmax(1) == expected.numpy().argmax(1)).all())
        result["onnx_accuracy"] = float((full.argmax(1) == labels.numpy()).mean())
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
