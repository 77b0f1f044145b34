# CUDA build (-DGGML_CUDA=ON), included by CMakeLists.txt before the engine is added.
#
# nvcc and cudart come from a CUDA toolkit; cuBLAS from the toolkit when it has one, else
# from NVIDIA's PyPI wheel: LOCALWHISPER_CUBLAS_DIR names the wheel's root (the folder that
# holds include/cublas_v2.h and lib/libcublas.so.N; `make build` installs the wheel into the
# venv and passes it). libggml-cuda gets RPATHs to the wheel folders beside an installed
# package and to the toolkit's cudart, so it loads without LD_LIBRARY_PATH. Without an NVIDIA
# driver it still builds; at run time the backend then stays unloaded and the CPU is used.

set(LOCALWHISPER_CUBLAS_DIR "$ENV{LOCALWHISPER_CUBLAS_DIR}" CACHE PATH
    "cuBLAS wheel root (include/, lib/libcublas.so.N); empty: the CUDA toolkit's cuBLAS")

find_package(CUDAToolkit REQUIRED)
message(STATUS "localwhisper: CUDA toolkit ${CUDAToolkit_VERSION} at ${CUDAToolkit_LIBRARY_DIR}")

if (LOCALWHISPER_CUBLAS_DIR AND NOT TARGET CUDA::cublas)
    # Wheels ship only versioned names (libcublas.so.13), which find_library does not match.
    file(GLOB _lw_cublas "${LOCALWHISPER_CUBLAS_DIR}/lib/libcublas.so.[0-9]*")
    file(GLOB _lw_cublaslt "${LOCALWHISPER_CUBLAS_DIR}/lib/libcublasLt.so.[0-9]*")
    if (NOT _lw_cublas OR NOT _lw_cublaslt OR NOT EXISTS "${LOCALWHISPER_CUBLAS_DIR}/include/cublas_v2.h")
        message(FATAL_ERROR "LOCALWHISPER_CUBLAS_DIR=${LOCALWHISPER_CUBLAS_DIR} holds no "
                            "include/cublas_v2.h, lib/libcublas.so.N and lib/libcublasLt.so.N")
    endif()
    list(GET _lw_cublas 0 _lw_cublas)
    list(GET _lw_cublaslt 0 _lw_cublaslt)
    add_library(CUDA::cublasLt SHARED IMPORTED GLOBAL)
    set_target_properties(CUDA::cublasLt PROPERTIES IMPORTED_LOCATION "${_lw_cublaslt}")
    add_library(CUDA::cublas SHARED IMPORTED GLOBAL)
    set_target_properties(CUDA::cublas PROPERTIES
        IMPORTED_LOCATION "${_lw_cublas}"
        INTERFACE_INCLUDE_DIRECTORIES "${LOCALWHISPER_CUBLAS_DIR}/include;${CUDAToolkit_INCLUDE_DIRS}"
        INTERFACE_LINK_LIBRARIES CUDA::cublasLt)
    message(STATUS "localwhisper: cuBLAS from the wheel at ${LOCALWHISPER_CUBLAS_DIR} (${_lw_cublas})")
elseif (TARGET CUDA::cublas)
    get_target_property(_lw_cublas CUDA::cublas IMPORTED_LOCATION)
    message(STATUS "localwhisper: cuBLAS from the toolkit (${_lw_cublas})")
else()
    message(FATAL_ERROR "GGML_CUDA=ON but the CUDA toolkit has no cuBLAS: install it, or the "
                        "nvidia-cublas wheel and pass -DLOCALWHISPER_CUBLAS_DIR=<site-packages>/nvidia/cu${CUDAToolkit_VERSION_MAJOR} "
                        "(`CMAKE_ARGS=-DGGML_CUDA=on make build` does both)")
endif()

# ggml links the driver (libcuda.so) only for its virtual-memory pool; a build machine
# without a driver or its stub builds with the plain cudaMalloc pool instead.
if (NOT TARGET CUDA::cuda_driver)
    message(STATUS "localwhisper: no libcuda.so at build time: GGML_CUDA_NO_VMM=ON (cudaMalloc pool)")
    set(GGML_CUDA_NO_VMM ON CACHE BOOL "ggml: no CUDA virtual-memory pool" FORCE)
endif()

# Called after the engine is added: where libggml-cuda finds cuBLAS and cudart at run time.
function(localwhisper_cuda_rpath)
    if (NOT TARGET ggml-cuda)
        return()
    endif()
    set(_wheels "../../nvidia/cu${CUDAToolkit_VERSION_MAJOR}/lib"  # CUDA 13 wheels
                "../../nvidia/cublas/lib" "../../nvidia/cuda_runtime/lib")  # CUDA 12 wheels
    set(_rpath "$ORIGIN")
    foreach(_dir IN LISTS _wheels)
        list(APPEND _rpath "$ORIGIN/${_dir}")
    endforeach()
    if (LOCALWHISPER_CUBLAS_DIR)
        list(APPEND _rpath "${LOCALWHISPER_CUBLAS_DIR}/lib")  # the build venv (editable installs)
    endif()
    list(APPEND _rpath "${CUDAToolkit_LIBRARY_DIR}")
    set_target_properties(ggml-cuda PROPERTIES INSTALL_RPATH "${_rpath}")
endfunction()
