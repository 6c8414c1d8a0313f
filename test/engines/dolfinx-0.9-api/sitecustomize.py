"""Holds a script to the DOLFINx 0.9.0 API (the image's: images/fenicsx) on an older DOLFINx.

npm run test:engines puts this directory on PYTHONPATH only when the installed DOLFINx is older
than 0.9 (Debian bookworm's python3-dolfinx is 0.5.2), so data/fenicsx/poisson.py runs for real
here, and fails where it would fail in the image:

- the 0.9.0 names poisson.py uses that 0.5 lacks are provided, with 0.9.0's signatures:
  dolfinx.fem.functionspace(mesh, element) (python/dolfinx/fem/function.py at v0.9.0) and
  dolfinx.default_scalar_type (python/dolfinx/__init__.py at v0.9.0: PETSc.ScalarType);
- XDMFFile.write_function refuses what 0.9.0 refuses (cpp/dolfinx/io/xdmf_function.cpp at
  v0.9.0, lines 62-118): a non-Lagrange Function ("Only Lagrange functions are supported.
  Interpolate Functions before output."), and a Function that is not cell-wise constant whose
  element has not as many dofs per cell as the mesh's coordinate element ("Degree of output
  Function must be same as mesh degree. Maybe the Function needs to be interpolated?"). 0.5
  interpolated such a Function silently, so the script passed there and crashed in the image.

Anything the script uses that 0.9.0 has and this version lacks fails with AttributeError, as it
should: the shim adds nothing else.
"""
import dolfinx

_version = tuple(int(p) for p in dolfinx.__version__.split(".")[:2])

if _version < (0, 9):
    import dolfinx.fem
    import dolfinx.io

    if not hasattr(dolfinx.fem, "functionspace"):

        def functionspace(mesh, element, form_compiler_options=None, jit_options=None):
            # 0.5 names the two dicts form_compiler_params and jit_params.
            return dolfinx.fem.FunctionSpace(mesh, element, form_compiler_params=form_compiler_options or {}, jit_params=jit_options or {})

        dolfinx.fem.functionspace = functionspace

    if not hasattr(dolfinx, "default_scalar_type"):
        from petsc4py import PETSc

        dolfinx.default_scalar_type = PETSc.ScalarType

    _write_function = dolfinx.io.XDMFFile.write_function

    def write_function(self, u, t=0.0, mesh_xpath="/Xdmf/Domain/Grid[@GridType='Uniform'][1]"):
        V = u.function_space
        element = V.element
        if not element.interpolation_ident:
            raise RuntimeError("Only Lagrange functions are supported. Interpolate Functions before output.")
        cell_dim = element.space_dimension // V.dofmap.index_map_bs
        if cell_dim != 1:
            cmap_dim = V.mesh.geometry.cmap.create_dof_layout().num_dofs
            if cmap_dim != cell_dim:
                raise RuntimeError("Degree of output Function must be same as mesh degree. Maybe the Function needs to be interpolated?")
        return _write_function(self, u, t, mesh_xpath)

    dolfinx.io.XDMFFile.write_function = write_function
