"""Fixtures shared by the window and session tests: a qasync loop over pytest-qt's QApplication."""

import asyncio

import pytest
import qasync


@pytest.fixture
def qloop(qapp):
    """The qasync loop, marked as running: pytest-qt spins Qt's event loop, which runs the loop's callbacks."""
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    for task in asyncio.all_tasks(loop):
        task.cancel()
    qapp.processEvents()
    asyncio.events._set_running_loop(None)
    loop._QEventLoop__is_running = False  # a loop that was "already running" cannot be stopped without quitting Qt
    loop.close()
    asyncio.set_event_loop(None)
