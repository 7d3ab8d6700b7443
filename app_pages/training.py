"""Training: LeNet-5 (Keras, TF1 or NumPy) learning live, then what it got right and wrong.

The run is a job of this browser session (st.session_state["training_job"], started by
cnnviz.training.start_job): a Ray run off the server process, so it never slows the server's
other pages. A session has one run at most, waiting in the training queue or training; a
fragment polls it twice a second (place in the queue, progress), so the page stays responsive
and survives page switches. Finished runs, and runs reopened from the runs/ folder, go to this
session's runs list, as summaries; the run shown is read whole (cnnviz.ui.saved_runs). The
class's part (the student's name, the teacher's limits, pause and Stop, a reload finding its run)
is cnnviz.ui.class_training's.
"""


import numpy as np
import streamlit as st

from cnnviz import data, figures, paths, training, ui
from cnnviz.data.splits import VALIDATION_FRACTION
from cnnviz.networks import export
from cnnviz.networks.architectures import analyze
from cnnviz.networks.presets import TRAINING_NETWORKS
from cnnviz.ui import class_training, saved_runs

JOB, RUNS, MODEL_PATH = "training_job", "training_runs", ui.TRAINED_MODEL_KEY
PHASE = "training_phase"  # the job's phase when the page was drawn (the Stop button's label)
EPOCH_FIGURES = "training_epoch_figures"  # (job, epochs, figures) of the live run
SELECTED, PENDING_SELECTION = "training_selected", "training_pending_selection"
RUNS_DIR = paths.runs_dir()
GRID_IMAGES = 48

state = st.session_state
state.setdefault(RUNS, [])
training.service.SERVICE.warm_up()  # Ray starts in the background: a first run need not wait
st.title("Training")
st.caption("Train LeNet-5 three ways on the same data, watch the curves grow, then inspect the "
           "mistakes. NumPy and TF1 start from the same weights and see the same batches: one "
           "seed, same curves.")


def model_label(model: str) -> str:
    return training.MODELS[model].label


def run_label(run: training.SavedRun) -> str:
    config, history = run.config, run.history
    accuracy = "" if history.test_accuracy is None else f" · test {history.test_accuracy:.1%}"
    started = f"{run.started:%H:%M:%S} " if run.started else ""
    return (f"{started}{training.BACKENDS[config.backend]} · {model_label(config.model)} · "
            f"{config.dataset} · {len(history.epochs)} ep{accuracy} ({run.status}, {run.token})")


def add_run(run: training.SavedRun) -> None:
    """Put run in this session's list (once), select it, and offer its model to the draw page."""
    if all(kept.run_dir != run.run_dir for kept in state[RUNS]):
        state[RUNS].append(run.summary())
    state[PENDING_SELECTION] = run_label(run)  # applied before the run selector is drawn
    if run.model_path is not None and training.MODELS[run.config.model].lenet_layout:
        state[MODEL_PATH] = str(run.model_path)


def collect_finished_job() -> None:
    """A finished worker's run joins the runs list; its error, if any, is shown once."""
    job = state.get(JOB)
    if job is None or not job.done:
        return
    del state[JOB]
    if job.error:
        st.error(job.error)
    elif job.result is None:
        st.info("You left the training queue; nothing was trained.")
    if job.result is not None and job.result.run_dir is not None:
        add_run(training.SavedRun.of_result(job.result))


def config_field(name: str) -> tuple:
    """(default, help) of TrainConfig's field `name`: the widgets start where the library does."""
    field = training.config.FIELDS[name]
    return field.default, field.metadata["help"].capitalize()


def controls_ui(running: bool) -> training.TrainConfig:
    """The run's settings, read from widgets (disabled while a run is going), within the
    teacher's limits."""
    class_limits = class_training.limits()
    left, middle, right = st.columns(3)
    with left:
        backend = st.radio("Backend", tuple(training.BACKENDS), format_func=training.BACKENDS.get,
                           index=tuple(training.BACKENDS).index(config_field("backend")[0]),
                           key="train_backend", disabled=running, horizontal=True,
                           help=config_field("backend")[1])
        model = choice_ui("Model", "model", training.models_for(backend), running,
                          format_func=model_label, disabled=len(training.models_for(backend)) == 1)
    with middle:
        dataset = choice_ui("Dataset", "dataset", data.available_datasets(), running)
        try:
            n_train = len(ui.dataset(dataset).x_train)
        except data.DatasetError as error:
            st.error(f"Cannot read {dataset}: {error}")
            st.stop()
        low, most = class_training.images_range(class_limits, n_train)
        limit = st.slider(f"Training images ({VALIDATION_FRACTION:.0%} of them held out for "
                          "validation)", low, most, min(most, 8000), step=100,
                          key=f"train_limit_{dataset}", disabled=running)
        augment = st.checkbox("Augment", config_field("augment")[0], key="train_augment",
                              disabled=running, help=config_field("augment")[1])
    with right:
        most = class_training.most_epochs(class_limits, 100)
        epochs = st.number_input("Epochs", 1, most, min(most, config_field("epochs")[0]),
                                 key="train_epochs", disabled=running,
                                 help=config_field("epochs")[1])
        batch_size = st.select_slider("Batch size", [8, 16, 32, 64, 128, 256],
                                      config_field("batch_size")[0], key="train_batch",
                                      disabled=running, help=config_field("batch_size")[1])
        learning_rate = st.select_slider(
            "Learning rate", [1e-4, 3e-4, 1e-3, 3e-3, 1e-2], config_field("learning_rate")[0],
            format_func=lambda v: f"{v:g}", key="train_lr", disabled=running,
            help=config_field("learning_rate")[1])
        seed = st.number_input("Seed", 0, 2**31 - 1, config_field("seed")[0], key="train_seed",
                               disabled=running, help=config_field("seed")[1])
    if text := class_training.limits_text(class_limits):
        st.caption(text)
    return training.TrainConfig(backend=backend, model=model, dataset=dataset, epochs=int(epochs),
                                batch_size=int(batch_size), learning_rate=float(learning_rate),
                                limit=None if limit >= n_train else int(limit), seed=int(seed),
                                augment=augment)


def choice_ui(label: str, name: str, choices, running: bool, disabled: bool = False, **kwargs):
    """A selectbox over choices for TrainConfig's field `name`, starting at its default."""
    default, help_text = config_field(name)
    choices = tuple(choices)
    return st.selectbox(label, choices, choices.index(default) if default in choices else 0,
                        key=f"train_{name}", disabled=running or disabled,
                        help=help_text, **kwargs)


def start(config: training.TrainConfig) -> bool:
    """Start a run for this session; False (and a message) when it cannot start."""
    try:
        dataset = ui.dataset(config.dataset)
        run_dir = training.new_run_dir(config, RUNS_DIR)
        state[JOB] = training.start_job(config, dataset, run_dir,
                                        hold=class_training.pause_gate())
    except (ValueError, OSError) as error:
        st.error(f"Could not start training: {error}")
        return False
    class_training.started(state[JOB], run_dir)  # the student's name, a reload finds it
    return True


def live_ui() -> None:
    """Progress, curves and filters of the running job; reruns the page when it finishes."""
    job = state.get(JOB)
    if job is None:
        return
    if job.done or job.phase != state.get(PHASE):
        st.rerun()  # the whole page: results, or the Stop button's new label
    standing = job.standing()  # a waiting run's page needs no copy of the rows
    if standing["phase"] == "starting":
        leaving = " · leaving…" if job.stopping else ""
        st.progress(0.0, text=f"Starting the training service…{leaving}")
        if standing.get("service"):  # slow to start, or unreachable: retried in the background
            st.warning(standing["service"])
        return
    if standing["phase"] == "queued":  # text only: a class's waiting runs cost the server little
        leaving = " · leaving…" if job.stopping else ""
        st.progress(0.0, text=f"Waiting for a free training slot{leaving}")
        st.info(queue_text(standing["place"], standing["starts_in"]))
        class_training.paused_ui()  # a waiting run the teacher's pause holds keeps its place
        return
    live = job.snapshot()
    progress = live["progress"]
    if progress:
        done = progress["seen"] / progress["total"]
        st.progress(done, text=f"epoch {progress['epoch'] + 1}/{job.config.epochs} · {done:.0%} · "
                               f"{progress['images_per_second']:.0f} images/s · ETA "
                               f"{training.format_seconds(progress['eta'])}"
                               + (" · stopping…" if job.stopping else ""))
    else:
        st.progress(0.0, text="Starting (building the model)…")
    st.plotly_chart(figures.training.batch_curves_figure(live["batches"]), key="live_batches")
    if live["epochs"]:
        epoch_curves, filters = epoch_figures(live)
        st.plotly_chart(epoch_curves, key="live_epochs")
        st.caption(f"First-layer filters after epoch {len(live['epochs'])}")
        st.plotly_chart(filters, key="live_filters")


def epoch_figures(live: dict):
    """The epoch curves and filters figures, built once per epoch of a run (the page polls more
    often: building them every time cost the whole server's pages)."""
    job, epochs, built = state.get(EPOCH_FIGURES, (None, 0, None))
    if job is not state[JOB] or epochs != len(live["epochs"]):
        built = (figures.training.epoch_curves_figure(live["epochs"]),
                 figures.training.filters_figure(live["first_layer"]))
        state[EPOCH_FIGURES] = (state[JOB], len(live["epochs"]), built)
    return built


def queue_text(place: int | None, starts_in: float | None) -> str:
    if place is None:
        return "Your run is in the training queue."
    ahead = "you are next" if place == 1 else f"{place - 1} runs are ahead of yours"
    return (f"Your run waits in the training queue: {ahead}; it should start in about "
            f"{training.format_seconds(starts_in)}.")


def results_ui(run: training.SavedRun) -> None:
    """Curves, test accuracy, confusion matrix, filtered test images and downloads of one run."""
    try:
        run = saved_runs.whole(run)
    except ValueError as error:
        st.warning(f"{error} Its results cannot be shown.")
        return
    history = run.history
    if run.error:
        st.error(f"This run failed: {run.error}")
    summary_ui(history)
    downloads_ui(run)
    export_ui(run)
    if state.get(MODEL_PATH) == str(run.model_path):
        st.caption("The Draw page reads digits with this model.")
    elif not training.MODELS[run.config.model].lenet_layout:
        st.caption("The Draw page takes LeNet-5 models (with or without dropout) only.")
    if history.test_predictions is None:
        st.info("This run ended before testing (killed or failed); its curves are all that was "
                "saved.")
        return
    try:
        dataset = ui.dataset(run.config.dataset)
    except data.DatasetError as error:
        st.warning(f"The test images of this run cannot be shown: {error}")
        return
    y_true, y_pred = np.asarray(dataset.y_test), np.asarray(history.test_predictions)
    if len(y_true) != len(y_pred):
        st.warning("The dataset on this machine differs from the one this run was tested on.")
        return
    mistakes_ui(dataset, y_true, y_pred)


def summary_ui(history: training.History) -> None:
    """Test and validation accuracy, speed and wall time, then the epoch and batch curves."""
    if history.epochs:
        last = history.epochs[-1]
        columns = st.columns(4)
        columns[0].metric("Test accuracy", "–" if history.test_accuracy is None
                          else f"{history.test_accuracy:.2%}")
        columns[1].metric("Validation accuracy", f"{last['val_accuracy']:.2%}")
        columns[2].metric("Images / second", f"{history.images_per_second:,.0f}")
        columns[3].metric("Wall time", training.format_seconds(history.wall_time))
        st.plotly_chart(figures.training.epoch_curves_figure(history.epochs), key="result_epochs")
    if history.batches:
        st.plotly_chart(figures.training.batch_curves_figure(history.batches), key="result_batches")


def mistakes_ui(dataset, y_true: np.ndarray, y_pred: np.ndarray) -> None:
    """The test set's confusion matrix (a click sets the filters) beside the filters, then the
    test images they pick."""
    names = dataset.class_names
    left, right = st.columns([3, 2])
    with left:
        st.subheader("Confusion matrix (test set)")
        matrix = figures.training.confusion_matrix(y_true, y_pred)
        event = st.plotly_chart(figures.training.confusion_figure(matrix, names),
                                key="result_confusion", on_select="rerun", selection_mode="points")
        st.caption("Click a cell to show its images.")
        clicked = [p for p in event.selection.points if p.get("curve_number") == 1] if event else []
        if clicked:
            cell = figures.training.confusion_cell(clicked[0]["point_index"], len(names))
            if state.get("grid_cell") != cell:  # a new click sets the filters; later edits win
                state["grid_cell"] = cell
                state["grid_true"], state["grid_pred"] = cell
                state["grid_mistakes"] = cell[0] != cell[1]
    with right:
        picked = image_filters_ui(names, y_true, y_pred)
    if len(picked):
        shown = picked[:GRID_IMAGES]
        st.plotly_chart(figures.training.image_grid_figure(
            dataset.x_test[shown], y_true[shown], y_pred[shown], names), key="result_grid")


def image_filters_ui(names, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """True class, predicted class and mistakes-only filters; the test images they pick."""
    st.subheader("Test images")
    choices = [None, *range(len(names))]

    def class_label(choice):
        if choice is None:
            return "any"
        return names[choice] if names[choice] == str(choice) else f"{choice} {names[choice]}"

    true_class = st.selectbox("True class (row)", choices, format_func=class_label, key="grid_true")
    predicted = st.selectbox("Predicted class (column)", choices, format_func=class_label,
                             key="grid_pred")
    mistakes_only = st.checkbox("Mistakes only", value=True, key="grid_mistakes")
    picked = figures.training.select_examples(y_true, y_pred, true_class, predicted, mistakes_only)
    st.caption(f"{len(picked)} images in this cell; showing the first "
               f"{min(len(picked), GRID_IMAGES)}.")
    return picked


def downloads_ui(run: training.SavedRun) -> None:
    """The run's model file and its history (per epoch and per batch) as CSV."""
    history = run.history
    downloads = st.columns(3)
    if run.model_path is not None and run.model_path.is_file():
        downloads[0].download_button("Download the model", run.model_path.read_bytes(),
                                     file_name=f"{run.run_dir.name}{run.model_path.suffix}",
                                     key="download_model")
    downloads[1].download_button("Download history (per epoch, CSV)", history.to_csv("epoch"),
                                 file_name=f"{run.run_dir.name}-epochs.csv", mime="text/csv",
                                 key="download_epochs")
    downloads[2].download_button("Download history (per batch, CSV)", history.to_csv("batch"),
                                 file_name=f"{run.run_dir.name}-batches.csv", mime="text/csv",
                                 key="download_batches")


def export_ui(run: training.SavedRun) -> None:
    """The run as a short Keras script: same layers, initializers, optimizer, data and settings."""
    config = run.config
    network = TRAINING_NETWORKS[config.model]
    script = export.keras_script(network, dataset=config.dataset, epochs=config.epochs,
                                 batch_size=config.batch_size, learning_rate=config.learning_rate,
                                 seed=config.seed, limit=config.limit, title=run_label(run))
    with st.expander("Copy as Keras code"):
        if config.augment:
            st.caption("The script trains without this run's random shifts (augmentation).")
        st.code(script, language="python")
        st.download_button("Download the script", script, key="download_script",
                           mime="text/x-python",
                           file_name=export.script_filename(network, config.dataset))


def comparison_ui(runs: list[training.SavedRun]) -> None:
    """Finished runs side by side: test accuracy against parameters and training seconds."""
    points = [{"label": run_label(run), "test_accuracy": run.history.test_accuracy,
               "params": analyze(TRAINING_NETWORKS[run.config.model]).total_params,
               "seconds": sum(epoch["seconds"] for epoch in run.history.epochs)}
              for run in runs if run.history.test_accuracy is not None]
    if points:
        st.plotly_chart(figures.architectures.runs_comparison_figure(points),
                        key="compare_size_time")


def saved_runs_ui() -> None:
    """Reopen a run saved in the runs folder (earlier, or before a restart); live runs of other
    sessions stay private until they end."""
    saved = [run for run in training.list_run_summaries(RUNS_DIR)
             if run.status not in training.runs.LIVE_STATUSES]
    with st.expander(f"Saved runs in {RUNS_DIR.name}/ ({len(saved)})"):
        if not saved:
            st.write("No saved runs yet.")
            return
        chosen = st.selectbox("Run", saved, format_func=run_label, key="saved_run")
        if st.button("Reopen", key="reopen_run"):
            add_run(chosen)
            st.rerun()


class_training.reattach(JOB)  # a reload of this browser finds its live run
class_training.teacher_stop_ui(JOB)
collect_finished_job()
held = class_training.holding()  # a Start the teacher's pause holds
# one run per session: Start is disabled, and Streamlit drops its clicks
running = JOB in state or held
state[PHASE] = state[JOB].phase if JOB in state else None
config = controls_ui(running)
buttons = st.columns([1, 1, 4])
started = buttons[0].button("Start training", type="primary", disabled=running, key="train_start")
if started and class_training.press_start(config, start):
    st.rerun()
waiting = held or state[PHASE] in ("starting", "queued")
if buttons[1].button("Leave the queue" if waiting else "Stop training", disabled=not running,
                     key="train_stop"):
    class_training.cancel_held() if held else state[JOB].stop()
with buttons[2]:
    class_training.training_as_ui(running)

if held:
    st.fragment(class_training.held_ui, run_every=class_training.HELD_POLL_SECONDS)(start)
poll_seconds = {None: None, "starting": 1.0, "queued": 1.0}.get(state[PHASE], 0.5)
st.fragment(live_ui, run_every=poll_seconds)()

if state[RUNS]:
    st.header("Results")
    labels = [run_label(run) for run in state[RUNS]]
    if PENDING_SELECTION in state:
        state[SELECTED] = state.pop(PENDING_SELECTION)
    if state.get(SELECTED) not in labels:
        state[SELECTED] = labels[-1]
    selected = st.selectbox("Run", labels, key=SELECTED)
    results_ui(state[RUNS][labels.index(selected)])
    if len(state[RUNS]) > 1:
        st.subheader("Compare runs")
        comparison_ui(state[RUNS])
        compared = st.multiselect("Runs overlaid", labels, default=labels[-2:], key="compare_runs")
        st.plotly_chart(figures.training.runs_overlay_figure(
            {label: state[RUNS][labels.index(label)].history.epochs for label in compared}),
            key="compare_figure")
saved_runs_ui()
