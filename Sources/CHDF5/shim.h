#ifndef MOECKPT_CHDF5_SHIM_H
#define MOECKPT_CHDF5_SHIM_H
#include <hdf5.h>

/* HDF5's type, property-list and access-flag names are macros over `_g` globals
   that Swift cannot import (or rejects in Swift 6 mode). Each wrapper expands
   the original macro, which also runs H5open(). */
static inline hid_t mc_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t mc_h5e_default(void) { return H5E_DEFAULT; }
static inline hid_t mc_h5s_all(void) { return H5S_ALL; }
static inline unsigned mc_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned mc_h5f_acc_excl(void) { return H5F_ACC_EXCL; }
static inline unsigned mc_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned mc_h5f_acc_rdwr(void) { return H5F_ACC_RDWR; }
static inline size_t mc_h5t_variable(void) { return H5T_VARIABLE; }
static inline hid_t mc_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t mc_h5p_file_access(void) { return H5P_FILE_ACCESS; }
static inline hid_t mc_h5p_link_create(void) { return H5P_LINK_CREATE; }

static inline hid_t mc_h5t_c_s1(void) { return H5T_C_S1; }
static inline hid_t mc_h5t_ieee_f64le(void) { return H5T_IEEE_F64LE; }
static inline hid_t mc_h5t_ieee_f32le(void) { return H5T_IEEE_F32LE; }
static inline hid_t mc_h5t_std_i8le(void) { return H5T_STD_I8LE; }
static inline hid_t mc_h5t_std_i16le(void) { return H5T_STD_I16LE; }
static inline hid_t mc_h5t_std_i32le(void) { return H5T_STD_I32LE; }
static inline hid_t mc_h5t_std_i64le(void) { return H5T_STD_I64LE; }
static inline hid_t mc_h5t_std_u8le(void) { return H5T_STD_U8LE; }
static inline hid_t mc_h5t_std_u16le(void) { return H5T_STD_U16LE; }
static inline hid_t mc_h5t_std_u32le(void) { return H5T_STD_U32LE; }
static inline hid_t mc_h5t_std_u64le(void) { return H5T_STD_U64LE; }
static inline hid_t mc_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t mc_h5t_native_int64(void) { return H5T_NATIVE_INT64; }

/* Error classes read from the error stack to tell a truncated file from other failures. */
static inline hid_t mc_h5e_truncated(void) { return H5E_TRUNCATED; }

#endif
