/*
 * Sizing prototype of a compiled accelerator for prometheus_client (not used by the library).
 *
 * Four hot types, each a C version of what the pure-Python code does per call:
 *   Counter            inc(amount=1) with the library's checks, count_exceptions(spec)
 *   Histogram          observe(amount) into bucket storage, time() -> Timer
 *   Timer              context manager: __enter__ reads the clock, __exit__ observes
 *   ExceptionCounter   context manager: __exit__ increments its Counter on a matching exception
 *
 * Storage is any writable buffer of C doubles (an ``array('d')`` such as a pure-Python
 * Histogram's flat bucket array, or a slice of an mmap'd multiprocess file), so numbers land
 * where the pure-Python exposition (or the multiprocess collector) already reads them.
 * Every method runs with the GIL held, so each update is one uninterrupted read-modify-write;
 * a free-threaded build would need atomics or per-object critical sections here.
 * Objects hold only references to other acyclic objects, so they skip the cyclic GC.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <time.h>

static double
monotonic_seconds(void)
{
    /* What time.perf_counter() reads on Linux (CLOCK_MONOTONIC). */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A number as the metric methods accept it: float or int (bool is an int). */
static int
as_amount(PyObject *o, double *out)
{
    if (PyFloat_CheckExact(o)) {
        *out = PyFloat_AS_DOUBLE(o);
        return 0;
    }
    if (PyLong_Check(o) || PyFloat_Check(o)) {
        double d = PyFloat_AsDouble(o);  /* OverflowError for huge ints: nothing changes */
        if (d == -1.0 && PyErr_Occurred())
            return -1;
        *out = d;
        return 0;
    }
    PyErr_Format(PyExc_TypeError, "amount must be a number, got %.100s", Py_TYPE(o)->tp_name);
    return -1;
}

/* Keep a writable buffer of at least ``need`` doubles starting at double index ``offset``. */
static int
take_storage(PyObject *storage, Py_ssize_t offset, Py_ssize_t need, Py_buffer *view, double **out)
{
    if (PyObject_GetBuffer(storage, view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    if (offset < 0 || (offset + need) * (Py_ssize_t)sizeof(double) > view->len) {
        PyBuffer_Release(view);
        PyErr_SetString(PyExc_ValueError, "storage is too small for the requested doubles");
        return -1;
    }
    *out = (double *)view->buf + offset;
    return 0;
}

/* ---------------------------------------------------------------- Counter */

typedef struct {
    PyObject_HEAD
    double *value;      /* points at own_value or into the storage buffer */
    double own_value;
    Py_buffer view;
    int has_view;
} CounterObject;

static PyTypeObject CounterType;
static PyTypeObject ExcCounterType;

static int
Counter_init(CounterObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"storage", "index", NULL};
    PyObject *storage = Py_None;
    Py_ssize_t index = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|On", kwlist, &storage, &index))
        return -1;
    if (self->has_view) {
        PyBuffer_Release(&self->view);
        self->has_view = 0;
    }
    self->own_value = 0.0;
    self->value = &self->own_value;
    if (storage != Py_None) {
        if (take_storage(storage, index, 1, &self->view, &self->value) < 0)
            return -1;
        self->has_view = 1;
    }
    return 0;
}

static void
Counter_dealloc(CounterObject *self)
{
    if (self->has_view)
        PyBuffer_Release(&self->view);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
Counter_inc(CounterObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    double amount = 1.0;
    if (nargs > 1) {
        PyErr_SetString(PyExc_TypeError, "inc() takes at most one argument");
        return NULL;
    }
    if (nargs == 1 && as_amount(args[0], &amount) < 0)
        return NULL;
    if (amount < 0) {
        PyErr_SetString(PyExc_ValueError, "Counters can only be incremented by non-negative amounts.");
        return NULL;
    }
    *self->value += amount;
    Py_RETURN_NONE;
}

static PyObject *
Counter_get(CounterObject *self, PyObject *Py_UNUSED(ignored))
{
    return PyFloat_FromDouble(*self->value);
}

typedef struct {
    PyObject_HEAD
    CounterObject *counter;
    PyObject *exception;
} ExcCounterObject;

static PyObject *
Counter_count_exceptions(CounterObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *spec = nargs >= 1 ? args[0] : PyExc_Exception;
    if (nargs > 1) {
        PyErr_SetString(PyExc_TypeError, "count_exceptions() takes at most one argument");
        return NULL;
    }
    ExcCounterObject *ec = PyObject_New(ExcCounterObject, &ExcCounterType);
    if (ec == NULL)
        return NULL;
    Py_INCREF(self);
    ec->counter = self;
    Py_INCREF(spec);
    ec->exception = spec;
    return (PyObject *)ec;
}

static PyMethodDef Counter_methods[] = {
    {"inc", (PyCFunction)(void (*)(void))Counter_inc, METH_FASTCALL, "Add amount (default 1)."},
    {"get", (PyCFunction)Counter_get, METH_NOARGS, "The current value."},
    {"count_exceptions", (PyCFunction)(void (*)(void))Counter_count_exceptions, METH_FASTCALL,
     "A context manager counting exceptions of the given spec."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject CounterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_pc_accel_proto.Counter",
    .tp_basicsize = sizeof(CounterObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Counter_init,
    .tp_dealloc = (destructor)Counter_dealloc,
    .tp_methods = Counter_methods,
};

/* ------------------------------------------------------- ExceptionCounter */

static void
ExcCounter_dealloc(ExcCounterObject *self)
{
    Py_DECREF(self->counter);
    Py_DECREF(self->exception);
    PyObject_Free(self);
}

static PyObject *
ExcCounter_enter(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    Py_RETURN_NONE;
}

static PyObject *
ExcCounter_exit(ExcCounterObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "__exit__ takes three arguments");
        return NULL;
    }
    PyObject *value = args[1];
    /* isinstance(None, Exception) is False: skip the call on the common clean exit. */
    if (value != Py_None || self->exception != PyExc_Exception) {
        int match = PyObject_IsInstance(value, self->exception);
        if (match < 0)
            return NULL;
        if (match)
            *self->counter->value += 1.0;
    }
    Py_RETURN_FALSE;
}

static PyMethodDef ExcCounter_methods[] = {
    {"__enter__", (PyCFunction)ExcCounter_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))ExcCounter_exit, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ExcCounterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_pc_accel_proto.ExceptionCounter",
    .tp_basicsize = sizeof(ExcCounterObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)ExcCounter_dealloc,
    .tp_methods = ExcCounter_methods,
};

/* -------------------------------------------------------------- Histogram */

typedef struct {
    PyObject_HEAD
    Py_ssize_t n;       /* number of buckets, the last bound is +Inf */
    double *bounds;
    double *counts;     /* n non-cumulative bucket counts, then the sum */
    Py_buffer view;
    int has_view;
} HistObject;

static PyTypeObject HistType;
static PyTypeObject TimerType;

static int
Hist_init(HistObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"bounds", "storage", "offset", NULL};
    PyObject *bounds, *storage, *seq;
    Py_ssize_t offset = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|n", kwlist, &bounds, &storage, &offset))
        return -1;
    if (self->bounds != NULL || self->has_view) {
        PyErr_SetString(PyExc_RuntimeError, "Histogram is already initialised");
        return -1;
    }
    seq = PySequence_Fast(bounds, "bounds must be a sequence of floats");
    if (seq == NULL)
        return -1;
    self->n = PySequence_Fast_GET_SIZE(seq);
    if (self->n < 1) {
        Py_DECREF(seq);
        PyErr_SetString(PyExc_ValueError, "at least one bucket is needed");
        return -1;
    }
    self->bounds = PyMem_New(double, self->n);
    if (self->bounds == NULL) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < self->n; i++) {
        self->bounds[i] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(seq, i));
        if (self->bounds[i] == -1.0 && PyErr_Occurred()) {
            Py_DECREF(seq);
            return -1;
        }
    }
    Py_DECREF(seq);
    if (take_storage(storage, offset, self->n + 1, &self->view, &self->counts) < 0)
        return -1;
    self->has_view = 1;
    return 0;
}

static void
Hist_dealloc(HistObject *self)
{
    if (self->has_view)
        PyBuffer_Release(&self->view);
    PyMem_Free(self->bounds);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* bisect_left over the bounds, as the pure-Python observe; NaN goes to the sum only. */
static inline void
hist_add(HistObject *self, double amount)
{
    if (amount == amount) {
        Py_ssize_t lo = 0, hi = self->n;
        while (lo < hi) {
            Py_ssize_t mid = (lo + hi) / 2;
            if (self->bounds[mid] < amount)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < self->n)  /* above the last (+Inf) bound only if the bounds are not closed */
            self->counts[lo] += 1.0;
    }
    self->counts[self->n] += amount;
}

static PyObject *
Hist_observe(HistObject *self, PyObject *arg)
{
    double amount;
    if (as_amount(arg, &amount) < 0)
        return NULL;
    hist_add(self, amount);
    Py_RETURN_NONE;
}

typedef struct {
    PyObject_HEAD
    HistObject *hist;
    double start;
    double duration;
    int timed;          /* duration is None until the first exit */
} TimerObject;

static PyObject *
Hist_time(HistObject *self, PyObject *Py_UNUSED(ignored))
{
    TimerObject *t = PyObject_New(TimerObject, &TimerType);
    if (t == NULL)
        return NULL;
    Py_INCREF(self);
    t->hist = self;
    t->start = 0.0;
    t->duration = 0.0;
    t->timed = 0;
    return (PyObject *)t;
}

static PyObject *
Hist_snapshot(HistObject *self, PyObject *Py_UNUSED(ignored))
{
    /* (bucket counts, sum), read from the storage. */
    PyObject *counts = PyList_New(self->n);
    if (counts == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < self->n; i++) {
        PyObject *v = PyFloat_FromDouble(self->counts[i]);
        if (v == NULL) {
            Py_DECREF(counts);
            return NULL;
        }
        PyList_SET_ITEM(counts, i, v);
    }
    return Py_BuildValue("(Nd)", counts, self->counts[self->n]);
}

static PyMethodDef Hist_methods[] = {
    {"observe", (PyCFunction)Hist_observe, METH_O, "Observe one amount."},
    {"time", (PyCFunction)Hist_time, METH_NOARGS, "A Timer observing into this histogram."},
    {"snapshot", (PyCFunction)Hist_snapshot, METH_NOARGS, "(bucket counts, sum)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject HistType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_pc_accel_proto.Histogram",
    .tp_basicsize = sizeof(HistObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Hist_init,
    .tp_dealloc = (destructor)Hist_dealloc,
    .tp_methods = Hist_methods,
};

/* ------------------------------------------------------------------ Timer */

static void
Timer_dealloc(TimerObject *self)
{
    Py_DECREF(self->hist);
    PyObject_Free(self);
}

static PyObject *
Timer_enter(TimerObject *self, PyObject *Py_UNUSED(ignored))
{
    self->start = monotonic_seconds();
    Py_INCREF(self);
    return (PyObject *)self;
}

static PyObject *
Timer_exit(TimerObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    double d = monotonic_seconds() - self->start;
    (void)args;
    (void)nargs;
    if (d < 0)  /* time can go backwards */
        d = 0.0;
    self->duration = d;
    self->timed = 1;
    hist_add(self->hist, d);
    Py_RETURN_NONE;
}

static PyObject *
Timer_get_duration(TimerObject *self, void *Py_UNUSED(closure))
{
    if (!self->timed)
        Py_RETURN_NONE;
    return PyFloat_FromDouble(self->duration);
}

static PyMethodDef Timer_methods[] = {
    {"__enter__", (PyCFunction)Timer_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))Timer_exit, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Timer_getset[] = {
    {"duration", (getter)Timer_get_duration, NULL, "Seconds of the last timed block, or None.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject TimerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_pc_accel_proto.Timer",
    .tp_basicsize = sizeof(TimerObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)Timer_dealloc,
    .tp_methods = Timer_methods,
    .tp_getset = Timer_getset,
};

/* ----------------------------------------------------------------- module */

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_pc_accel_proto", "Sizing prototype of a compiled accelerator.", -1, NULL,
};

PyMODINIT_FUNC
PyInit__pc_accel_proto(void)
{
    PyTypeObject *types[] = {&CounterType, &ExcCounterType, &HistType, &TimerType};
    const char *names[] = {"Counter", "ExceptionCounter", "Histogram", "Timer"};
    PyObject *m;
    for (int i = 0; i < 4; i++) {
        if (PyType_Ready(types[i]) < 0)
            return NULL;
    }
    m = PyModule_Create(&moduledef);
    if (m == NULL)
        return NULL;
    for (int i = 0; i < 4; i++) {
        Py_INCREF(types[i]);
        if (PyModule_AddObject(m, names[i], (PyObject *)types[i]) < 0) {
            Py_DECREF(types[i]);
            Py_DECREF(m);
            return NULL;
        }
    }
    return m;
}
