# %% [markdown]
# # 11 · Forecasting a chaotic series several steps ahead
#
# The Mackey–Glass equation is a classic test for forecasters: a one-variable
# delay differential equation whose solution never repeats (it is chaotic for
# the delay used here) yet is fully determined by its recent past.  We observe
# it with noise, and forecast the next $H$ values from a window of the last $P$.
#
# Three forecasters, compared by error at each horizon $k = 1, \dots, H$ (steps ahead;
# $h_t$ is kept for the LSTM's hidden state):
#
# 1. **last value** (persistence): $\hat x_{t+k} = x_t$;
# 2. **linear autoregression**, one least-squares fit per horizon:
#    $\hat x_{t+k} = a_k \cdot (x_{t-P+1}, \dots, x_t) + b_k$;
# 3. an **LSTM** that reads the window and outputs all $H$ forecasts at once.

# %%
from tinygrad_seq.tutorial import quick, result, step_through, figure
step_through()

# %%
import time

import numpy as np

import tinygrad_seq as tg
from tinygrad_seq import charts, nn
from tinygrad_seq.nn import functional as F

QUICK = quick()
SEED = 0
P, H = 24, 10                  # window length, forecast horizon (in samples)
STEPS = 100 if QUICK else 2000
BATCH = 64
print(f"quick mode: {QUICK}   window P={P}   horizons 1..{H}   training steps: {STEPS}")

# %% [markdown]
# ## The series
#
# Mackey–Glass, with the usual constants $\beta = 0.2$, $\gamma = 0.1$, $n = 10$ and delay $\tau = 17$:
#
# $$\frac{dx}{dt} = \frac{\beta\, x(t - \tau)}{1 + x(t - \tau)^n} - \gamma\, x(t)$$
#
# integrated with Euler steps of 0.1, kept every 3 time units, then
# standardised (zero mean, unit variance) and observed with Gaussian noise of
# standard deviation $\sigma = 0.05$.  The first 70% is for training, the rest for
# testing, so the test forecasts are of a stretch of the series no model has
# seen.

# %%
def mackey_glass(n, tau=17.0, beta=0.2, gamma=0.1, power=10, dt=0.1, every=3.0, seed=SEED):
    rng = np.random.default_rng(seed)
    lag, keep = int(round(tau / dt)), int(round(every / dt))
    burn = 3000
    total = burn + n * keep
    x = np.empty(lag + total)
    x[:lag + 1] = 1.2 + 0.1 * rng.standard_normal(lag + 1)   # the history before t = 0
    for i in range(lag, lag + total - 1):
        past = x[i - lag]
        x[i + 1] = x[i] + dt * (beta * past / (1 + past ** power) - gamma * x[i])
    return x[lag + burn::keep][:n]


N_SERIES = 2500 if QUICK else 6000
NOISE = 0.05
clean = mackey_glass(N_SERIES)
clean = (clean - clean.mean()) / clean.std()
series = clean + NOISE * np.random.default_rng(SEED + 1).standard_normal(len(clean))
split = int(0.7 * len(series))
print(f"{len(series)} samples: {split} for training, {len(series) - split} for testing")
charts.plot({"observed": series[:150]}, title="Mackey–Glass (standardised, noisy), first 150 samples",
            xlabel="sample", png=figure("11_series"), connect=True)

# %% [markdown]
# Windows: for every time $t$, the input is the last $P$ observations and the
# targets are the next $H$ observations (noisy too; the noise cannot be
# forecast, so no model's squared error can go below $\sigma^2 = 0.0025$ on average).

# %%
def windows(x):
    idx = np.arange(P)[None, :] + np.arange(len(x) - P - H + 1)[:, None]
    return x[idx], x[idx[:, -1:] + np.arange(1, H + 1)[None, :]]


X_train, Y_train = windows(series[:split])
X_test, Y_test = windows(series[split:])
print(f"training windows {X_train.shape}, test windows {X_test.shape}")

# %% [markdown]
# ## Baselines
#
# The last value predicts no change.  The linear autoregression is fitted in
# closed form: for each horizon $k$, with the windows $w_t$ as rows of a matrix $X$
# (plus a column of ones),
#
# $$(a_k, b_k) = \arg\min_{a, b} \sum_t (x_{t+k} - a \cdot w_t - b)^2 = \texttt{lstsq}(X, y_k)$$
#
# A linear model can follow a sine wave exactly: for $s_t = \sin(\omega t + \varphi)$,
# the angle-addition formula gives $s_{t+1} = 2\cos\omega \; s_t - s_{t-1}$, a linear
# function of the last two values, and applying it $k$ times gives every
# horizon. The same least-squares fit on windows of a clean sine (with
# Mackey–Glass's rough period, about 50 samples here) shows it:

# %%
omega = 2 * np.pi / 50
sine = np.sin(omega * np.arange(2000) + 0.3)
Xs, Ys = windows(sine)
coef_s, *_ = np.linalg.lstsq(np.hstack([Xs, np.ones((len(Xs), 1))]), Ys, rcond=None)
sine_err = float(np.abs(np.hstack([Xs, np.ones((len(Xs), 1))]) @ coef_s - Ys).max())
two, *_ = np.linalg.lstsq(Xs[:, -2:], Ys[:, 0], rcond=None)           # from the last two values only
print(f"sine: largest error of the linear forecast over all {H} horizons: {sine_err:.2g}")
print(f"from the last two values: s_(t+1) = {two[1]:.6f} s_t {two[0]:+.6f} s_(t-1);  2 cos(omega) = {2 * np.cos(omega):.6f}")

# %% [markdown]
# Mackey–Glass is nonlinear, and the further ahead, the more the nonlinearity
# matters:

# %%
def rmse_by_horizon(pred, Y):
    return np.sqrt(((pred - Y) ** 2).mean(axis=0))


last_rmse = rmse_by_horizon(np.repeat(X_test[:, -1:], H, axis=1), Y_test)
design = lambda X: np.hstack([X, np.ones((len(X), 1))])  # noqa: E731
coef, *_ = np.linalg.lstsq(design(X_train), Y_train, rcond=None)
ar_pred = design(X_test) @ coef
ar_rmse = rmse_by_horizon(ar_pred, Y_test)
print("horizon      " + "".join(f"{h:>7d}" for h in range(1, H + 1)))
print("last value   " + "".join(f"{v:7.3f}" for v in last_rmse))
print("linear AR    " + "".join(f"{v:7.3f}" for v in ar_rmse))

# %% [markdown]
# ## The LSTM forecaster
#
# The LSTM reads the window one value at a time; its final state $h_P$ goes
# through a linear layer with $H$ outputs, one per horizon ("direct"
# multi-step forecasting, no feeding back of its own forecasts):
#
# $$(h_t, c_t) = \mathrm{LSTM}(x_t, h_{t-1}, c_{t-1}), \quad t = 1, \dots, P, \qquad (\hat x_{t+1}, \dots, \hat x_{t+H}) = W_{\text{out}} h_P + b_{\text{out}}$$
#
# The loss is the mean squared error over all $H$ horizons.

# %%
class Forecaster(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.lstm = nn.LSTM(1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, H)

    def forward(self, windows):
        x = tg.tensor(windows[:, :, None].astype(np.float32))
        _, (h_n, _) = self.lstm(x)
        return self.head(h_n[-1])


tg.manual_seed(SEED)
model = Forecaster()
opt = tg.optim.Adam(model.parameters(), lr=1e-2)
sched = tg.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=STEPS)
batch_rng = np.random.default_rng(SEED + 2)
losses, start = [], time.time()
for step in range(STEPS):
    idx = batch_rng.integers(0, len(X_train), BATCH)
    loss = F.mse_loss(model(X_train[idx]), tg.tensor(Y_train[idx].astype(np.float32)))
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    losses.append(loss.item())
    if (step + 1) % max(1, STEPS // 5) == 0:
        print(f"step {step + 1:5d}  training MSE {np.mean(losses[-50:]):.4f}")
print(f"{model.num_parameters()} parameters, trained in {time.time() - start:.1f} s")
charts.plot({"LSTM": losses}, title="training loss (MSE over all horizons)", xlabel="step", logy=True,
            png=figure("11_loss"))

# %% [markdown]
# ## Error by horizon
#
# Root-mean-squared error on the test stretch, for each horizon:
#
# $$\mathrm{RMSE}_k = \sqrt{\frac{1}{N} \sum_t (\hat x_{t+k} - x_{t+k})^2}$$

# %%
model.eval()
with tg.no_grad():
    lstm_pred = model(X_test).numpy()
lstm_rmse = rmse_by_horizon(lstm_pred, Y_test)
print("horizon      " + "".join(f"{h:>7d}" for h in range(1, H + 1)))
for name, r in (("last value", last_rmse), ("linear AR", ar_rmse), ("LSTM", lstm_rmse)):
    print(f"{name:<13}" + "".join(f"{v:7.3f}" for v in r))
print(f"(noise floor σ = {NOISE})")
charts.plot({"last value": last_rmse, "linear AR": ar_rmse, "LSTM": lstm_rmse},
            x=list(range(1, H + 1)), title="test RMSE by horizon", xlabel="horizon (samples ahead)",
            ylabel="RMSE", png=figure("11_rmse_by_horizon"))

# %% [markdown]
# One test window and what each model forecasts from it: samples $0, \dots, P-1$ are
# the input, and from sample $P$ on, "observed" is what actually came next and
# the other two series are the forecasts.

# %%
k = len(X_test) // 2
past = list(X_test[k])
nan = [float("nan")] * P
charts.plot({"observed": past + list(Y_test[k]), "linear AR": nan + list(ar_pred[k]),
             "LSTM": nan + list(lstm_pred[k])},
            title=f"test window {k}: {P} observed values, then {H} forecast", xlabel="sample",
            png=figure("11_example"), connect=True)

# %% [markdown]
# ## Result
#
# The claim this tutorial makes (and its test checks): at the longest horizon
# $k = H$, the LSTM's test RMSE `lstm_rmse_H` is lower than both the linear
# autoregression's `ar_rmse_H` and the last value's `last_rmse_H`, by at
# least 10% of the better baseline.  All three are the last column of the
# table above, and are on the RESULT line below with the errors averaged over
# all horizons (`*_mean`).

# %%
result(lstm_rmse_H=round(float(lstm_rmse[-1]), 4), ar_rmse_H=round(float(ar_rmse[-1]), 4),
       last_rmse_H=round(float(last_rmse[-1]), 4), lstm_mean=round(float(lstm_rmse.mean()), 4),
       ar_mean=round(float(ar_rmse.mean()), 4), last_mean=round(float(last_rmse.mean()), 4),
       sine_omega=omega, sine_err=sine_err, sine_a=float(two[1]), sine_b=float(two[0]))
