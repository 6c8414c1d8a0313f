"""Poisson problem on the unit square with DOLFINx (FEniCSx 0.9).

    -div(grad(u)) = f  in the unit square,  u = u_D on the boundary,

with u_D = 1 + x^2 + 2y^2 and f = -6, whose exact solution is u_D itself (the FEniCS tutorial
problem). The script solves it with Lagrange elements of degree DEGREE, prints the L2 and max
errors against the exact solution, and writes the solution to poisson.xdmf (and .h5) in the run
directory. XDMF stores a function at the mesh's degree (1 here): DOLFINx 0.9 refuses to write a
higher-degree function ("Degree of output Function must be same as mesh degree", see
cpp/dolfinx/io/xdmf_function.cpp at v0.9.0), so for DEGREE >= 2 the file holds the solution
interpolated to degree 1; the printed errors are those of the degree-DEGREE solution.

Progress: the script prints "progress K/N" lines (K of N stages done), the convention keystone's
fenicsx profile reads to show a percent and an ETA while a run is followed (profiles.yaml,
progress). A script of your own can print the same lines, e.g. once per time step.

Parameters (environment variables, e.g. from `keystone run-simulation ... --sweep N=16,32,64`):
    N       cells per side (default 32)
    DEGREE  polynomial degree (default 1)
"""
import os

import numpy as np
import ufl
from dolfinx import default_scalar_type, fem, io, mesh
from dolfinx.fem.petsc import LinearProblem
from mpi4py import MPI

n = int(os.environ.get("N", "32"))
degree = int(os.environ.get("DEGREE", "1"))


def say(text: str) -> None:
    """Progress on rank 0, flushed at once: a pod's stdout is a pipe, which Python buffers."""
    if MPI.COMM_WORLD.rank == 0:
        print(text, flush=True)


STAGES = 4
say(f"N={n} degree={degree}: building the mesh and the function space")
domain = mesh.create_unit_square(MPI.COMM_WORLD, n, n, mesh.CellType.triangle)
V = fem.functionspace(domain, ("Lagrange", degree))

u_exact = lambda x: 1 + x[0] ** 2 + 2 * x[1] ** 2  # noqa: E731
u_D = fem.Function(V)
u_D.interpolate(u_exact)

tdim = domain.topology.dim
domain.topology.create_connectivity(tdim - 1, tdim)
boundary_facets = mesh.exterior_facet_indices(domain.topology)
boundary_dofs = fem.locate_dofs_topological(V, tdim - 1, boundary_facets)
bc = fem.dirichletbc(u_D, boundary_dofs)

u = ufl.TrialFunction(V)
v = ufl.TestFunction(V)
f = fem.Constant(domain, default_scalar_type(-6))
a = ufl.dot(ufl.grad(u), ufl.grad(v)) * ufl.dx
L = f * v * ufl.dx

say(f"progress 1/{STAGES}")
say(f"solving ({V.dofmap.index_map.size_global} dofs)")
problem = LinearProblem(a, L, bcs=[bc], petsc_options={"ksp_type": "preonly", "pc_type": "lu"})
uh = problem.solve()
say(f"progress 2/{STAGES}")

# Errors against the exact solution, interpolated into a higher-degree space.
V2 = fem.functionspace(domain, ("Lagrange", degree + 2))
u_ex = fem.Function(V2)
u_ex.interpolate(u_exact)
error_form = fem.form((uh - u_ex) ** 2 * ufl.dx)
error_l2 = np.sqrt(domain.comm.allreduce(fem.assemble_scalar(error_form), op=MPI.SUM))
error_max = domain.comm.allreduce(np.max(np.abs(uh.x.array - u_D.x.array)), op=MPI.MAX)

if domain.comm.rank == 0:
    print(f"N={n} degree={degree} dofs={V.dofmap.index_map.size_global}")
    print(f"L2 error: {error_l2:.3e}")
    print(f"max error at nodes: {error_max:.3e}", flush=True)
say(f"progress 3/{STAGES}")

# XDMF holds functions at the mesh's (geometry) degree only.
mesh_degree = domain.geometry.cmap.degree
if degree == mesh_degree:
    u_out = uh
else:
    u_out = fem.Function(fem.functionspace(domain, ("Lagrange", mesh_degree)))
    u_out.interpolate(uh)
u_out.name = "u"
with io.XDMFFile(domain.comm, "poisson.xdmf", "w") as xdmf:
    xdmf.write_mesh(domain)
    xdmf.write_function(u_out)
say("solution written to poisson.xdmf" + ("" if u_out is uh else f" (interpolated to degree {mesh_degree})"))
say(f"progress {STAGES}/{STAGES}")
