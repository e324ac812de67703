# PyInstaller run-time hook (see build/tftsr.spec): runs the standard run-time hooks listed
# in DEFERRED when their module is first imported, not at every start.
#
# PyInstaller runs a run-time hook for each of these packages before the program's first
# line whenever the package is in the bundle, whether this run uses it or not: the PyQt6
# hook imports QtCore (loading Qt and ICU), the others import inspect, pkgutil and
# multiprocessing. Together that was about 100 ms of every start, `tftsr --version`
# included. tftsr.spec takes those hooks out of the start-up sequence and bundles each one
# as a module under its own name; this hook, which runs first, imports that module right
# after its package has been imported for the first time -- before the code that imported
# the package goes on, so the package is patched before anyone uses it, as before.
#
# A hook the build did not bundle (its package is not in this build) is skipped.


def _pyi_rthook():
    import sys

    # Package -> PyInstaller's run-time hooks for it (tftsr.spec reads this table).
    DEFERRED = {
        "inspect": ("pyi_rth_inspect",),
        "pkgutil": ("pyi_rth_pkgutil",),
        "multiprocessing": ("pyi_rth_multiprocessing",),
        "PyQt6": ("pyi_rth_pyqt6",),
    }
    pending = dict(DEFERRED)

    def run_hooks(package):
        for hook in pending.pop(package, ()):
            try:
                __import__(hook)
            except ModuleNotFoundError as exc:
                if exc.name != hook:
                    raise

    class _RunHooksAfter:
        """The package's own loader, then its deferred hooks."""

        def __init__(self, loader, package):
            self._loader = loader
            self._package = package

        def create_module(self, spec):
            return self._loader.create_module(spec)

        def exec_module(self, module):
            try:
                self._loader.exec_module(module)
            finally:
                module.__loader__ = self._loader
                if getattr(module, "__spec__", None) is not None:
                    module.__spec__.loader = self._loader
            run_hooks(self._package)

        def __getattr__(self, name):
            return getattr(self._loader, name)

    class _DeferredHookFinder:
        """First on sys.meta_path: finds nothing itself, only wraps the loader of a package
        whose hooks are still pending."""

        @staticmethod
        def find_spec(fullname, path=None, target=None):
            if fullname not in pending:
                return None
            for finder in sys.meta_path:
                find_spec = getattr(finder, "find_spec", None)
                if finder is _DeferredHookFinder or find_spec is None:
                    continue
                spec = find_spec(fullname, path, target)
                if spec is not None:
                    if spec.loader is not None:
                        spec.loader = _RunHooksAfter(spec.loader, fullname)
                    return spec
            return None

        @staticmethod
        def invalidate_caches():
            pass

    for package in list(pending):
        if package in sys.modules:  # imported during bootstrap: run its hooks now
            run_hooks(package)
    sys.meta_path.insert(0, _DeferredHookFinder)


_pyi_rthook()
del _pyi_rthook
