"""Answer the first two questions about an LSTM's weights in a terminal.

Run: python notebooks/quickstart.py
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras

import lstm_widgets as lw

T, F, H = 24, 4, 16
model = keras.Sequential([keras.Input((T, F)), keras.layers.LSTM(H), keras.layers.Dense(F)])

print([w.shape for w in model.get_weights()])  # (F, 4H), (H, 4H), (4H,), then Dense: no T anywhere
gw = lw.gate_weights(model)
print(gw)  # kind, units, gates in packing order, n_params
for gate in gw:  # i, f, c, o: columns [0:H], [H:2H], [2H:3H], [3H:4H] of W, U and b
    print(f"{gate.key} ({gate.name}): W {gate.W.shape}, U {gate.U.shape}, b {gate.b.shape}")
print("the same weights run at every one of the", T, "steps; n_params =", gw.n_params)
