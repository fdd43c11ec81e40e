"""oneadapt: keep streaming-analytics DNNs accurate while cutting bandwidth and GPU work.

Each second, the accuracy gradient of every configuration knob is estimated as
InputGrad (camera-side re-encodes) x DNNGrad (one server-side backward pass), and
every knob takes a gradient step on ``accuracy - lambda * resource``.
"""

__version__ = "0.1.0"
