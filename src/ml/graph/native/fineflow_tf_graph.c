/*
 * fineflow_tf_graph: a Node-API addon over TensorFlow's graph C API (TF_Graph, TF_Session).
 *
 * tfjs-node runs every op eagerly: one trip through JavaScript and the eager runtime per op,
 * about 25 µs each, which dominates small models (a training step is ~200 ops). This addon lets
 * Fineflow build a whole training step as one graph (forward, TF_AddGradients, fused optimizer
 * updates) and run it with one TF_SessionRun per batch, as Keras does with tf.function, on the
 * same libtensorflow that tfjs-node loads.
 *
 * The JavaScript side (src/ml/graph/tf-graph.ts) is the only caller; it validates arguments.
 * Handles are napi externals freed by finalizers; a session keeps its graph alive.
 *
 *   graphCreate() -> graph
 *   graphAddOp(graph, type, name, inputs, attrs, controlInputs) -> number of outputs
 *     inputs: [[opName, index] | [[opName, index], ...]]   (a nested array is an input list)
 *     attrs:  [[name, kind, value, extra?]]  kind: type|int|float|bool|string|shape|ints|floats|types|tensor
 *             tensor: value = TypedArray data, extra = [dtype, shape]
 *   graphAddGradients(graph, prefix, ys, xs) -> [[opName, index]]   (d(sum ys)/d xs)
 *   sessionCreate(graph, configProtoBytes | null) -> session
 *   sessionRun(session, feeds, fetches, targets) -> [[dtype, shape, TypedArray]]
 *     feeds: [[opName, index, dtype, shape, TypedArray]], fetches: [[opName, index]], targets: [opName]
 *   sessionClose(session)
 *   version() -> TensorFlow version string
 */
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tensorflow/c/c_api.h>

#define MAX_NAME 512
#define MAX_DIMS 16

#define NAPI_OK(env, call)                                          \
  do {                                                              \
    if ((call) != napi_ok) {                                        \
      throw_error((env), "fineflow_tf_graph: Node-API call failed: " #call); \
      return NULL;                                                  \
    }                                                               \
  } while (0)

typedef struct {
  TF_Graph* graph;
} GraphHandle;

typedef struct {
  TF_Session* session;
  napi_ref graph_ref; /* keeps the graph's JS external (and so the TF_Graph) alive */
} SessionHandle;

static void throw_error(napi_env env, const char* message) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, NULL, message);
}

static int throw_status(napi_env env, TF_Status* status, const char* what) {
  if (TF_GetCode(status) == TF_OK) return 0;
  char message[2048];
  snprintf(message, sizeof message, "%s: %s", what, TF_Message(status));
  throw_error(env, message);
  return 1;
}

static void graph_finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  GraphHandle* handle = (GraphHandle*)data;
  if (handle->graph) TF_DeleteGraph(handle->graph);
  free(handle);
}

static void session_close_handle(SessionHandle* handle) {
  if (!handle->session) return;
  TF_Status* status = TF_NewStatus();
  TF_CloseSession(handle->session, status);
  TF_DeleteSession(handle->session, status);
  TF_DeleteStatus(status);
  handle->session = NULL;
}

static void session_finalize(napi_env env, void* data, void* hint) {
  (void)hint;
  SessionHandle* handle = (SessionHandle*)data;
  session_close_handle(handle);
  if (handle->graph_ref) napi_delete_reference(env, handle->graph_ref);
  free(handle);
}

static int get_string(napi_env env, napi_value value, char* buffer, size_t size) {
  size_t length = 0;
  if (napi_get_value_string_utf8(env, value, buffer, size, &length) != napi_ok) {
    throw_error(env, "fineflow_tf_graph: expected a string");
    return 1;
  }
  if (length >= size - 1) {
    throw_error(env, "fineflow_tf_graph: string too long");
    return 1;
  }
  return 0;
}

static int get_int64(napi_env env, napi_value value, int64_t* out) {
  if (napi_get_value_int64(env, value, out) != napi_ok) {
    throw_error(env, "fineflow_tf_graph: expected a number");
    return 1;
  }
  return 0;
}

static int get_element(napi_env env, napi_value array, uint32_t index, napi_value* out) {
  if (napi_get_element(env, array, index, out) != napi_ok) {
    throw_error(env, "fineflow_tf_graph: expected an array");
    return 1;
  }
  return 0;
}

static uint32_t array_length(napi_env env, napi_value array) {
  uint32_t length = 0;
  bool is_array = false;
  napi_is_array(env, array, &is_array);
  if (is_array) napi_get_array_length(env, array, &length);
  return length;
}

static GraphHandle* get_graph(napi_env env, napi_value value) {
  GraphHandle* handle = NULL;
  if (napi_get_value_external(env, value, (void**)&handle) != napi_ok || !handle || !handle->graph) {
    throw_error(env, "fineflow_tf_graph: expected a graph handle");
    return NULL;
  }
  return handle;
}

/* [opName, index] -> TF_Output */
static int get_output(napi_env env, TF_Graph* graph, napi_value pair, TF_Output* out) {
  napi_value name_value, index_value;
  char name[MAX_NAME];
  int64_t index = 0;
  if (get_element(env, pair, 0, &name_value) || get_element(env, pair, 1, &index_value)) return 1;
  if (get_string(env, name_value, name, sizeof name) || get_int64(env, index_value, &index)) return 1;
  TF_Operation* op = TF_GraphOperationByName(graph, name);
  if (!op) {
    char message[MAX_NAME + 64];
    snprintf(message, sizeof message, "fineflow_tf_graph: the graph has no operation %s", name);
    throw_error(env, message);
    return 1;
  }
  out->oper = op;
  out->index = (int)index;
  return 0;
}

static int get_dims(napi_env env, napi_value array, int64_t* dims, int* count) {
  bool is_array = false;
  napi_is_array(env, array, &is_array);
  if (!is_array) {
    *count = -1; /* unknown rank */
    return 0;
  }
  uint32_t length = array_length(env, array);
  if (length > MAX_DIMS) {
    throw_error(env, "fineflow_tf_graph: too many dimensions");
    return 1;
  }
  for (uint32_t i = 0; i < length; i++) {
    napi_value element;
    if (get_element(env, array, i, &element) || get_int64(env, element, &dims[i])) return 1;
  }
  *count = (int)length;
  return 0;
}

static size_t dtype_size(TF_DataType dtype) {
  size_t size = TF_DataTypeSize(dtype);
  return size;
}

/* Copies a typed array into a new TF_Tensor of dtype and shape. */
static TF_Tensor* tensor_from_typed_array(napi_env env, TF_DataType dtype, const int64_t* dims, int rank, napi_value data) {
  bool is_typed = false;
  napi_is_typedarray(env, data, &is_typed);
  if (!is_typed) {
    throw_error(env, "fineflow_tf_graph: tensor data must be a typed array");
    return NULL;
  }
  napi_typedarray_type type;
  size_t length = 0;
  void* bytes = NULL;
  napi_value buffer;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, data, &type, &length, &bytes, &buffer, &offset) != napi_ok) {
    throw_error(env, "fineflow_tf_graph: cannot read typed array");
    return NULL;
  }
  size_t element = dtype_size(dtype);
  size_t count = 1;
  for (int i = 0; i < rank; i++) count *= (size_t)dims[i];
  size_t byte_length = 0;
  switch (type) {
    case napi_float32_array: byte_length = length * 4; break;
    case napi_int32_array: case napi_uint32_array: byte_length = length * 4; break;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: byte_length = length * 8; break;
    case napi_int16_array: case napi_uint16_array: byte_length = length * 2; break;
    default: byte_length = length; break;
  }
  if (element == 0 || byte_length != count * element) {
    char message[256];
    snprintf(message, sizeof message, "fineflow_tf_graph: tensor data has %zu bytes, its dtype and shape need %zu", byte_length, count * element);
    throw_error(env, message);
    return NULL;
  }
  TF_Tensor* tensor = TF_AllocateTensor(dtype, dims, rank, count * element);
  if (!tensor) {
    throw_error(env, "fineflow_tf_graph: TF_AllocateTensor failed");
    return NULL;
  }
  if (count * element > 0) memcpy(TF_TensorData(tensor), bytes, count * element);
  return tensor;
}

static napi_value js_graph_create(napi_env env, napi_callback_info info) {
  (void)info;
  GraphHandle* handle = (GraphHandle*)calloc(1, sizeof(GraphHandle));
  if (!handle) {
    throw_error(env, "fineflow_tf_graph: out of memory");
    return NULL;
  }
  handle->graph = TF_NewGraph();
  napi_value result;
  if (napi_create_external(env, handle, graph_finalize, NULL, &result) != napi_ok) {
    TF_DeleteGraph(handle->graph);
    free(handle);
    throw_error(env, "fineflow_tf_graph: cannot create the graph handle");
    return NULL;
  }
  return result;
}

static int set_attr(napi_env env, TF_OperationDescription* desc, napi_value attr, TF_Status* status) {
  napi_value name_value, kind_value, value;
  char name[MAX_NAME], kind[32];
  if (get_element(env, attr, 0, &name_value) || get_element(env, attr, 1, &kind_value) || get_element(env, attr, 2, &value)) return 1;
  if (get_string(env, name_value, name, sizeof name) || get_string(env, kind_value, kind, sizeof kind)) return 1;
  if (strcmp(kind, "type") == 0) {
    int64_t v;
    if (get_int64(env, value, &v)) return 1;
    TF_SetAttrType(desc, name, (TF_DataType)v);
  } else if (strcmp(kind, "int") == 0) {
    int64_t v;
    if (get_int64(env, value, &v)) return 1;
    TF_SetAttrInt(desc, name, v);
  } else if (strcmp(kind, "float") == 0) {
    double v;
    if (napi_get_value_double(env, value, &v) != napi_ok) {
      throw_error(env, "fineflow_tf_graph: float attr must be a number");
      return 1;
    }
    TF_SetAttrFloat(desc, name, (float)v);
  } else if (strcmp(kind, "bool") == 0) {
    bool v;
    if (napi_get_value_bool(env, value, &v) != napi_ok) {
      throw_error(env, "fineflow_tf_graph: bool attr must be a boolean");
      return 1;
    }
    TF_SetAttrBool(desc, name, v ? 1 : 0);
  } else if (strcmp(kind, "string") == 0) {
    char v[MAX_NAME];
    size_t length = 0;
    if (napi_get_value_string_utf8(env, value, v, sizeof v, &length) != napi_ok) {
      throw_error(env, "fineflow_tf_graph: string attr must be a string");
      return 1;
    }
    TF_SetAttrString(desc, name, v, length);
  } else if (strcmp(kind, "shape") == 0) {
    int64_t dims[MAX_DIMS];
    int count;
    if (get_dims(env, value, dims, &count)) return 1;
    TF_SetAttrShape(desc, name, dims, count);
  } else if (strcmp(kind, "ints") == 0 || strcmp(kind, "types") == 0) {
    uint32_t length = array_length(env, value);
    int64_t* values = (int64_t*)calloc(length + 1, sizeof(int64_t));
    TF_DataType* types = (TF_DataType*)calloc(length + 1, sizeof(TF_DataType));
    for (uint32_t i = 0; i < length; i++) {
      napi_value element;
      if (get_element(env, value, i, &element) || get_int64(env, element, &values[i])) {
        free(values);
        free(types);
        return 1;
      }
      types[i] = (TF_DataType)values[i];
    }
    if (kind[0] == 'i') TF_SetAttrIntList(desc, name, values, (int)length);
    else TF_SetAttrTypeList(desc, name, types, (int)length);
    free(values);
    free(types);
  } else if (strcmp(kind, "floats") == 0) {
    uint32_t length = array_length(env, value);
    float* values = (float*)calloc(length + 1, sizeof(float));
    for (uint32_t i = 0; i < length; i++) {
      napi_value element;
      double v;
      if (get_element(env, value, i, &element) || napi_get_value_double(env, element, &v) != napi_ok) {
        free(values);
        throw_error(env, "fineflow_tf_graph: floats attr must be numbers");
        return 1;
      }
      values[i] = (float)v;
    }
    TF_SetAttrFloatList(desc, name, values, (int)length);
    free(values);
  } else if (strcmp(kind, "tensor") == 0) {
    napi_value extra, dtype_value, shape_value;
    int64_t dtype, dims[MAX_DIMS];
    int rank;
    if (get_element(env, attr, 3, &extra) || get_element(env, extra, 0, &dtype_value) || get_element(env, extra, 1, &shape_value)) return 1;
    if (get_int64(env, dtype_value, &dtype) || get_dims(env, shape_value, dims, &rank)) return 1;
    TF_Tensor* tensor = tensor_from_typed_array(env, (TF_DataType)dtype, dims, rank < 0 ? 0 : rank, value);
    if (!tensor) return 1;
    TF_SetAttrTensor(desc, name, tensor, status);
    TF_DeleteTensor(tensor);
    if (throw_status(env, status, "fineflow_tf_graph: tensor attr")) return 1;
  } else {
    char message[128];
    snprintf(message, sizeof message, "fineflow_tf_graph: unknown attr kind %s", kind);
    throw_error(env, message);
    return 1;
  }
  return 0;
}

static napi_value js_graph_add_op(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) {
    throw_error(env, "fineflow_tf_graph: graphAddOp(graph, type, name, inputs, attrs, controlInputs)");
    return NULL;
  }
  GraphHandle* handle = get_graph(env, argv[0]);
  if (!handle) return NULL;
  char type[128], name[MAX_NAME];
  if (get_string(env, argv[1], type, sizeof type) || get_string(env, argv[2], name, sizeof name)) return NULL;
  TF_OperationDescription* desc = TF_NewOperation(handle->graph, type, name);
  TF_Status* status = TF_NewStatus();
  int failed = 0;

  uint32_t input_count = array_length(env, argv[3]);
  for (uint32_t i = 0; i < input_count && !failed; i++) {
    napi_value input, first;
    if (get_element(env, argv[3], i, &input) || get_element(env, input, 0, &first)) {
      failed = 1;
      break;
    }
    bool is_list = false;
    napi_is_array(env, first, &is_list);
    if (is_list) {
      uint32_t list_length = array_length(env, input);
      TF_Output* outputs = (TF_Output*)calloc(list_length + 1, sizeof(TF_Output));
      for (uint32_t j = 0; j < list_length && !failed; j++) {
        napi_value pair;
        failed = get_element(env, input, j, &pair) || get_output(env, handle->graph, pair, &outputs[j]);
      }
      if (!failed) TF_AddInputList(desc, outputs, (int)list_length);
      free(outputs);
    } else {
      TF_Output output;
      failed = get_output(env, handle->graph, input, &output);
      if (!failed) TF_AddInput(desc, output);
    }
  }
  uint32_t attr_count = array_length(env, argv[4]);
  for (uint32_t i = 0; i < attr_count && !failed; i++) {
    napi_value attr;
    failed = get_element(env, argv[4], i, &attr) || set_attr(env, desc, attr, status);
  }
  uint32_t control_count = array_length(env, argv[5]);
  for (uint32_t i = 0; i < control_count && !failed; i++) {
    napi_value control;
    char control_name[MAX_NAME];
    failed = get_element(env, argv[5], i, &control) || get_string(env, control, control_name, sizeof control_name);
    if (failed) break;
    TF_Operation* op = TF_GraphOperationByName(handle->graph, control_name);
    if (!op) {
      throw_error(env, "fineflow_tf_graph: unknown control input");
      failed = 1;
      break;
    }
    TF_AddControlInput(desc, op);
  }
  /* A description must be finished even on failure (it holds the graph's lock); a failed one
     adds nothing to the graph. */
  TF_Operation* op = TF_FinishOperation(desc, status);
  if (failed) {
    TF_DeleteStatus(status);
    return NULL;
  }
  char what[MAX_NAME + 160];
  snprintf(what, sizeof what, "adding %s operation %s", type, name);
  if (throw_status(env, status, what)) {
    TF_DeleteStatus(status);
    return NULL;
  }
  TF_DeleteStatus(status);
  napi_value result;
  NAPI_OK(env, napi_create_int32(env, TF_OperationNumOutputs(op), &result));
  return result;
}

static int get_outputs(napi_env env, TF_Graph* graph, napi_value array, TF_Output** out, uint32_t* count) {
  *count = array_length(env, array);
  *out = (TF_Output*)calloc(*count + 1, sizeof(TF_Output));
  for (uint32_t i = 0; i < *count; i++) {
    napi_value pair;
    if (get_element(env, array, i, &pair) || get_output(env, graph, pair, &(*out)[i])) {
      free(*out);
      *out = NULL;
      return 1;
    }
  }
  return 0;
}

static napi_value output_pair(napi_env env, TF_Output output) {
  napi_value pair, name, index;
  const char* op_name = output.oper ? TF_OperationName(output.oper) : "";
  napi_create_array_with_length(env, 2, &pair);
  napi_create_string_utf8(env, op_name, NAPI_AUTO_LENGTH, &name);
  napi_create_int32(env, output.index, &index);
  napi_set_element(env, pair, 0, name);
  napi_set_element(env, pair, 1, index);
  return pair;
}

static napi_value js_graph_add_gradients(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  GraphHandle* handle = argc >= 4 ? get_graph(env, argv[0]) : NULL;
  if (!handle) return NULL;
  char prefix[MAX_NAME];
  if (get_string(env, argv[1], prefix, sizeof prefix)) return NULL;
  TF_Output *ys = NULL, *xs = NULL;
  uint32_t ny = 0, nx = 0;
  if (get_outputs(env, handle->graph, argv[2], &ys, &ny)) return NULL;
  if (get_outputs(env, handle->graph, argv[3], &xs, &nx)) {
    free(ys);
    return NULL;
  }
  TF_Output* dys = (TF_Output*)calloc(nx + 1, sizeof(TF_Output));
  TF_Status* status = TF_NewStatus();
  TF_AddGradientsWithPrefix(handle->graph, prefix, ys, (int)ny, xs, (int)nx, NULL, status, dys);
  free(ys);
  free(xs);
  if (throw_status(env, status, "fineflow_tf_graph: adding gradients")) {
    TF_DeleteStatus(status);
    free(dys);
    return NULL;
  }
  TF_DeleteStatus(status);
  napi_value result;
  napi_create_array_with_length(env, nx, &result);
  for (uint32_t i = 0; i < nx; i++) napi_set_element(env, result, i, output_pair(env, dys[i]));
  free(dys);
  return result;
}

static napi_value js_session_create(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  GraphHandle* graph = argc >= 1 ? get_graph(env, argv[0]) : NULL;
  if (!graph) return NULL;
  TF_SessionOptions* options = TF_NewSessionOptions();
  TF_Status* status = TF_NewStatus();
  bool has_config = false;
  if (argc >= 2) napi_is_typedarray(env, argv[1], &has_config);
  if (has_config) {
    napi_typedarray_type type;
    size_t length = 0;
    void* bytes = NULL;
    napi_value buffer;
    size_t offset = 0;
    napi_get_typedarray_info(env, argv[1], &type, &length, &bytes, &buffer, &offset);
    TF_SetConfig(options, bytes, length, status);
    if (throw_status(env, status, "fineflow_tf_graph: session config")) {
      TF_DeleteSessionOptions(options);
      TF_DeleteStatus(status);
      return NULL;
    }
  }
  TF_Session* session = TF_NewSession(graph->graph, options, status);
  TF_DeleteSessionOptions(options);
  if (throw_status(env, status, "fineflow_tf_graph: creating the session")) {
    TF_DeleteStatus(status);
    return NULL;
  }
  TF_DeleteStatus(status);
  SessionHandle* handle = (SessionHandle*)calloc(1, sizeof(SessionHandle));
  handle->session = session;
  napi_create_reference(env, argv[0], 1, &handle->graph_ref);
  napi_value result;
  if (napi_create_external(env, handle, session_finalize, NULL, &result) != napi_ok) {
    session_finalize(env, handle, NULL);
    throw_error(env, "fineflow_tf_graph: cannot create the session handle");
    return NULL;
  }
  return result;
}

static SessionHandle* get_session(napi_env env, napi_value value) {
  SessionHandle* handle = NULL;
  if (napi_get_value_external(env, value, (void**)&handle) != napi_ok || !handle) {
    throw_error(env, "fineflow_tf_graph: expected a session handle");
    return NULL;
  }
  if (!handle->session) {
    throw_error(env, "fineflow_tf_graph: the session is closed");
    return NULL;
  }
  return handle;
}

static napi_value typed_array_from_tensor(napi_env env, TF_Tensor* tensor) {
  TF_DataType dtype = TF_TensorType(tensor);
  size_t bytes = TF_TensorByteSize(tensor);
  napi_typedarray_type type;
  size_t element;
  switch (dtype) {
    case TF_FLOAT: type = napi_float32_array; element = 4; break;
    case TF_INT32: type = napi_int32_array; element = 4; break;
    case TF_DOUBLE: type = napi_float64_array; element = 8; break;
    case TF_INT64: type = napi_bigint64_array; element = 8; break;
    case TF_BOOL: case TF_UINT8: type = napi_uint8_array; element = 1; break;
    default: {
      char message[96];
      snprintf(message, sizeof message, "fineflow_tf_graph: cannot fetch tensors of dtype %d", (int)dtype);
      throw_error(env, message);
      return NULL;
    }
  }
  void* data = NULL;
  napi_value buffer, array;
  if (napi_create_arraybuffer(env, bytes, &data, &buffer) != napi_ok) {
    throw_error(env, "fineflow_tf_graph: cannot allocate the result");
    return NULL;
  }
  if (bytes > 0) memcpy(data, TF_TensorData(tensor), bytes);
  napi_create_typedarray(env, type, bytes / element, buffer, 0, &array);
  return array;
}

static napi_value js_session_run(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) {
    throw_error(env, "fineflow_tf_graph: sessionRun(session, feeds, fetches, targets)");
    return NULL;
  }
  SessionHandle* session = get_session(env, argv[0]);
  if (!session) return NULL;
  GraphHandle* graph = NULL;
  napi_value graph_value;
  napi_get_reference_value(env, session->graph_ref, &graph_value);
  graph = get_graph(env, graph_value);
  if (!graph) return NULL;

  uint32_t feed_count = array_length(env, argv[1]);
  uint32_t fetch_count = array_length(env, argv[2]);
  uint32_t target_count = array_length(env, argv[3]);
  TF_Output* feed_outputs = (TF_Output*)calloc(feed_count + 1, sizeof(TF_Output));
  TF_Tensor** feed_values = (TF_Tensor**)calloc(feed_count + 1, sizeof(TF_Tensor*));
  TF_Output* fetch_outputs = NULL;
  TF_Tensor** fetch_values = (TF_Tensor**)calloc(fetch_count + 1, sizeof(TF_Tensor*));
  const TF_Operation** targets = (const TF_Operation**)calloc(target_count + 1, sizeof(TF_Operation*));
  napi_value result = NULL;
  int failed = 0;

  for (uint32_t i = 0; i < feed_count && !failed; i++) {
    napi_value feed, dtype_value, shape_value, data_value;
    int64_t dtype, dims[MAX_DIMS];
    int rank;
    failed = get_element(env, argv[1], i, &feed) || get_output(env, graph->graph, feed, &feed_outputs[i]) ||
             get_element(env, feed, 2, &dtype_value) || get_element(env, feed, 3, &shape_value) || get_element(env, feed, 4, &data_value) ||
             get_int64(env, dtype_value, &dtype) || get_dims(env, shape_value, dims, &rank);
    if (failed) break;
    feed_values[i] = tensor_from_typed_array(env, (TF_DataType)dtype, dims, rank < 0 ? 0 : rank, data_value);
    failed = feed_values[i] == NULL;
  }
  uint32_t fetched = 0;
  if (!failed) failed = get_outputs(env, graph->graph, argv[2], &fetch_outputs, &fetched);
  for (uint32_t i = 0; i < target_count && !failed; i++) {
    napi_value target;
    char name[MAX_NAME];
    failed = get_element(env, argv[3], i, &target) || get_string(env, target, name, sizeof name);
    if (failed) break;
    targets[i] = TF_GraphOperationByName(graph->graph, name);
    if (!targets[i]) {
      throw_error(env, "fineflow_tf_graph: unknown target operation");
      failed = 1;
    }
  }
  if (!failed) {
    TF_Status* status = TF_NewStatus();
    TF_SessionRun(session->session, NULL, feed_outputs, feed_values, (int)feed_count, fetch_outputs, fetch_values, (int)fetch_count, targets,
                  (int)target_count, NULL, status);
    failed = throw_status(env, status, "TF_SessionRun");
    TF_DeleteStatus(status);
  }
  if (!failed) {
    napi_create_array_with_length(env, fetch_count, &result);
    for (uint32_t i = 0; i < fetch_count && !failed; i++) {
      TF_Tensor* tensor = fetch_values[i];
      napi_value entry, dtype, shape, data;
      napi_create_array_with_length(env, 3, &entry);
      napi_create_int32(env, (int32_t)TF_TensorType(tensor), &dtype);
      int rank = TF_NumDims(tensor);
      napi_create_array_with_length(env, (size_t)rank, &shape);
      for (int d = 0; d < rank; d++) {
        napi_value dim;
        napi_create_int64(env, TF_Dim(tensor, d), &dim);
        napi_set_element(env, shape, (uint32_t)d, dim);
      }
      data = typed_array_from_tensor(env, tensor);
      if (!data) {
        failed = 1;
        result = NULL;
        break;
      }
      napi_set_element(env, entry, 0, dtype);
      napi_set_element(env, entry, 1, shape);
      napi_set_element(env, entry, 2, data);
      napi_set_element(env, result, i, entry);
    }
  }
  for (uint32_t i = 0; i < feed_count; i++)
    if (feed_values[i]) TF_DeleteTensor(feed_values[i]);
  for (uint32_t i = 0; i < fetch_count; i++)
    if (fetch_values[i]) TF_DeleteTensor(fetch_values[i]);
  free(feed_outputs);
  free(feed_values);
  free(fetch_outputs);
  free(fetch_values);
  free(targets);
  return failed ? NULL : result;
}

static napi_value js_session_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  SessionHandle* handle = NULL;
  if (argc < 1 || napi_get_value_external(env, argv[0], (void**)&handle) != napi_ok || !handle) {
    throw_error(env, "fineflow_tf_graph: expected a session handle");
    return NULL;
  }
  session_close_handle(handle);
  return NULL;
}

static napi_value js_version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  NAPI_OK(env, napi_create_string_utf8(env, TF_Version(), NAPI_AUTO_LENGTH, &result));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"graphCreate", NULL, js_graph_create, NULL, NULL, NULL, napi_default, NULL},
      {"graphAddOp", NULL, js_graph_add_op, NULL, NULL, NULL, napi_default, NULL},
      {"graphAddGradients", NULL, js_graph_add_gradients, NULL, NULL, NULL, napi_default, NULL},
      {"sessionCreate", NULL, js_session_create, NULL, NULL, NULL, napi_default, NULL},
      {"sessionRun", NULL, js_session_run, NULL, NULL, NULL, napi_default, NULL},
      {"sessionClose", NULL, js_session_close, NULL, NULL, NULL, napi_default, NULL},
      {"version", NULL, js_version, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
