"""The PyTorch reference for tch-harness, laid out like the harness's `src/`:

    cli.py          the standalone flags and --config → the configuration
    config.py       the configuration: DEFAULTS (the harness's), CONFIG_KEYS, reading a file
    experiments.py  the built-in experiments' models and data
    model.py        the model to train (built-in or TorchScript), --init, model.safetensors
    data.py         the epoch order and the loaders
    criterion.py    the losses, each batch mean's count, accuracy
    optim.py        optimizers with param groups, schedulers from PyTorch's spelling
    step.py         the step's seams: unscaling, clipping, optimizer.step(), the scheduler
    scaler.py       torch.amp.GradScaler from --grad-scaler's spelling
    precision.py    --precision: the autocast region around forward + criterion
    loop.py         train() and test(): THE loop, for one process or a group of N
    distributed.py  the process group (a group of one alone) and --nproc's launcher
    trace.py        trace.jsonl for `tch-harness diff`
    run.py          a whole run into its run directory
    main.py         main(): scripts/reference.py's command
"""
