Function GPU_SPEC(gpu, field)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        GPU_SPEC = XLPy.CallUDF("udfs", "GPU_SPEC", Array(gpu, field), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        GPU_SPEC = XLPy.CallUDF("udfs", "GPU_SPEC", Array(gpu, field))
        Exit Function
    #End If
failed:
    GPU_SPEC = Err.Description
End Function

Function LLM_ACTIVE_PARAMS(model)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LLM_ACTIVE_PARAMS = XLPy.CallUDF("udfs", "LLM_ACTIVE_PARAMS", Array(model), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LLM_ACTIVE_PARAMS = XLPy.CallUDF("udfs", "LLM_ACTIVE_PARAMS", Array(model))
        Exit Function
    #End If
failed:
    LLM_ACTIVE_PARAMS = Err.Description
End Function

Function LLM_CHEAPEST_GPU(required_gib, Optional gpus, Optional price_field)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LLM_CHEAPEST_GPU = XLPy.CallUDF("udfs", "LLM_CHEAPEST_GPU", Array(required_gib, gpus, price_field), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LLM_CHEAPEST_GPU = XLPy.CallUDF("udfs", "LLM_CHEAPEST_GPU", Array(required_gib, gpus, price_field))
        Exit Function
    #End If
failed:
    LLM_CHEAPEST_GPU = Err.Description
End Function

Function LLM_CHINCHILLA_TOKENS(params)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LLM_CHINCHILLA_TOKENS = XLPy.CallUDF("udfs", "LLM_CHINCHILLA_TOKENS", Array(params), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LLM_CHINCHILLA_TOKENS = XLPy.CallUDF("udfs", "LLM_CHINCHILLA_TOKENS", Array(params))
        Exit Function
    #End If
failed:
    LLM_CHINCHILLA_TOKENS = Err.Description
End Function

Function LLM_COST_PER_MTOK(model, gpu, price_per_gpu_hour, Optional precision, Optional context, Optional batch, Optional gpus)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LLM_COST_PER_MTOK = XLPy.CallUDF("udfs", "LLM_COST_PER_MTOK", Array(model, gpu, price_per_gpu_hour, precision, context, batch, gpus), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LLM_COST_PER_MTOK = XLPy.CallUDF("udfs", "LLM_COST_PER_MTOK", Array(model, gpu, price_per_gpu_hour, precision, context, batch, gpus))
        Exit Function
    #End If
failed:
    LLM_COST_PER_MTOK = Err.Description
End Function

Function LLM_COST_PER_MTOK_IO(model, gpu, price_per_gpu_hour, input_tokens, output_tokens, Optional side, Optional precision, Optional batch, Optional gpus, Optional kv_precision)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LLM_COST_PER_MTOK_IO = XLPy.CallUDF("udfs", "LLM_COST_PER_MTOK_IO", Array(model, gpu, price_per_gpu_hour, input_tokens, output_tokens, side, precision, batch, gpus, kv_precision), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LLM_COST_PER_MTOK_IO = XLPy.CallUDF("udfs", "LLM_COST_PER_MTOK_IO", Array(model, gpu, price_per_gpu_hour, input_tokens, output_tokens, side, precision, batch, gpus, kv_precision))
        Exit Function
    #End If
failed:
    LLM_COST_PER_MTOK_IO = Err.Description
End Function

Function LLM_DECODE_TOKPS(model, gpu, Optional precision, Optional context, Optional batch, Optional gpus, Optional kv_precision)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LLM_DECODE_TOKPS = XLPy.CallUDF("udfs", "LLM_DECODE_TOKPS", Array(model, gpu, precision, context, batch, gpus, kv_precision), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LLM_DECODE_TOKPS = XLPy.CallUDF("udfs", "LLM_DECODE_TOKPS", Array(model, gpu, precision, context, batch, gpus, kv_precision))
        Exit Function
    #End If
failed:
    LLM_DECODE_TOKPS = Err.Description
End Function

Function LLM_FITS(model, gpu, Optional precision, Optional context, Optional batch, Optional gpus, Optional kv_precision)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LLM_FITS = XLPy.CallUDF("udfs", "LLM_FITS", Array(model, gpu, precision, context, batch, gpus, kv_precision), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LLM_FITS = XLPy.CallUDF("udfs", "LLM_FITS", Array(model, gpu, precision, context, batch, gpus, kv_precision))
        Exit Function
    #End If
failed:
    LLM_FITS = Err.Description
End Function

Function LLM_FLOPS_PER_TOKEN(model, Optional context)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LLM_FLOPS_PER_TOKEN = XLPy.CallUDF("udfs", "LLM_FLOPS_PER_TOKEN", Array(model, context), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LLM_FLOPS_PER_TOKEN = XLPy.CallUDF("udfs", "LLM_FLOPS_PER_TOKEN", Array(model, context))
        Exit Function
    #End If
failed:
    LLM_FLOPS_PER_TOKEN = Err.Description
End Function

Function LLM_GPUS_NEEDED(model, gpu, Optional precision, Optional context, Optional batch, Optional kv_precision)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LLM_GPUS_NEEDED = XLPy.CallUDF("udfs", "LLM_GPUS_NEEDED", Array(model, gpu, precision, context, batch, kv_precision), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LLM_GPUS_NEEDED = XLPy.CallUDF("udfs", "LLM_GPUS_NEEDED", Array(model, gpu, precision, context, batch, kv_precision))
        Exit Function
    #End If
failed:
    LLM_GPUS_NEEDED = Err.Description
End Function

Function LLM_INFER_VRAM_GIB(model, Optional precision, Optional context, Optional batch, Optional kv_precision)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LLM_INFER_VRAM_GIB = XLPy.CallUDF("udfs", "LLM_INFER_VRAM_GIB", Array(model, precision, context, batch, kv_precision), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LLM_INFER_VRAM_GIB = XLPy.CallUDF("udfs", "LLM_INFER_VRAM_GIB", Array(model, precision, context, batch, kv_precision))
        Exit Function
    #End If
failed:
    LLM_INFER_VRAM_GIB = Err.Description
End Function

Function LLM_KV_CACHE_GIB(model, context, Optional batch, Optional kv_precision)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LLM_KV_CACHE_GIB = XLPy.CallUDF("udfs", "LLM_KV_CACHE_GIB", Array(model, context, batch, kv_precision), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LLM_KV_CACHE_GIB = XLPy.CallUDF("udfs", "LLM_KV_CACHE_GIB", Array(model, context, batch, kv_precision))
        Exit Function
    #End If
failed:
    LLM_KV_CACHE_GIB = Err.Description
End Function

Function LLM_LATENCY_S(model, gpu, prompt_tokens, output_tokens, Optional precision, Optional batch, Optional gpus)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LLM_LATENCY_S = XLPy.CallUDF("udfs", "LLM_LATENCY_S", Array(model, gpu, prompt_tokens, output_tokens, precision, batch, gpus), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LLM_LATENCY_S = XLPy.CallUDF("udfs", "LLM_LATENCY_S", Array(model, gpu, prompt_tokens, output_tokens, precision, batch, gpus))
        Exit Function
    #End If
failed:
    LLM_LATENCY_S = Err.Description
End Function

Function LLM_MAX_CONTEXT(model, gpu, Optional precision, Optional batch, Optional gpus, Optional kv_precision)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LLM_MAX_CONTEXT = XLPy.CallUDF("udfs", "LLM_MAX_CONTEXT", Array(model, gpu, precision, batch, gpus, kv_precision), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LLM_MAX_CONTEXT = XLPy.CallUDF("udfs", "LLM_MAX_CONTEXT", Array(model, gpu, precision, batch, gpus, kv_precision))
        Exit Function
    #End If
failed:
    LLM_MAX_CONTEXT = Err.Description
End Function

Function LLM_MAX_PARAMS(gpu, Optional precision, Optional gpus)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LLM_MAX_PARAMS = XLPy.CallUDF("udfs", "LLM_MAX_PARAMS", Array(gpu, precision, gpus), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LLM_MAX_PARAMS = XLPy.CallUDF("udfs", "LLM_MAX_PARAMS", Array(gpu, precision, gpus))
        Exit Function
    #End If
failed:
    LLM_MAX_PARAMS = Err.Description
End Function

Function LLM_PARAMS(model)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LLM_PARAMS = XLPy.CallUDF("udfs", "LLM_PARAMS", Array(model), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LLM_PARAMS = XLPy.CallUDF("udfs", "LLM_PARAMS", Array(model))
        Exit Function
    #End If
failed:
    LLM_PARAMS = Err.Description
End Function

Function LLM_STATE_GIB(model, Optional batch, Optional state_precision)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LLM_STATE_GIB = XLPy.CallUDF("udfs", "LLM_STATE_GIB", Array(model, batch, state_precision), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LLM_STATE_GIB = XLPy.CallUDF("udfs", "LLM_STATE_GIB", Array(model, batch, state_precision))
        Exit Function
    #End If
failed:
    LLM_STATE_GIB = Err.Description
End Function

Function LLM_TRAIN_COST(model, tokens, gpu, price_per_gpu_hour, Optional precision, Optional mfu, Optional seq_len)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LLM_TRAIN_COST = XLPy.CallUDF("udfs", "LLM_TRAIN_COST", Array(model, tokens, gpu, price_per_gpu_hour, precision, mfu, seq_len), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LLM_TRAIN_COST = XLPy.CallUDF("udfs", "LLM_TRAIN_COST", Array(model, tokens, gpu, price_per_gpu_hour, precision, mfu, seq_len))
        Exit Function
    #End If
failed:
    LLM_TRAIN_COST = Err.Description
End Function

Function LLM_TRAIN_FLOPS(model, tokens, Optional seq_len)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LLM_TRAIN_FLOPS = XLPy.CallUDF("udfs", "LLM_TRAIN_FLOPS", Array(model, tokens, seq_len), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LLM_TRAIN_FLOPS = XLPy.CallUDF("udfs", "LLM_TRAIN_FLOPS", Array(model, tokens, seq_len))
        Exit Function
    #End If
failed:
    LLM_TRAIN_FLOPS = Err.Description
End Function

Function LLM_TRAIN_GPU_HOURS(model, tokens, gpu, Optional precision, Optional mfu, Optional seq_len)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LLM_TRAIN_GPU_HOURS = XLPy.CallUDF("udfs", "LLM_TRAIN_GPU_HOURS", Array(model, tokens, gpu, precision, mfu, seq_len), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LLM_TRAIN_GPU_HOURS = XLPy.CallUDF("udfs", "LLM_TRAIN_GPU_HOURS", Array(model, tokens, gpu, precision, mfu, seq_len))
        Exit Function
    #End If
failed:
    LLM_TRAIN_GPU_HOURS = Err.Description
End Function

Function LLM_TRAIN_VRAM_GIB(model, Optional precision, Optional seq_len, Optional micro_batch, Optional gpus, Optional zero_stage, Optional checkpointing, Optional tensor_parallel, Optional pipeline_parallel)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LLM_TRAIN_VRAM_GIB = XLPy.CallUDF("udfs", "LLM_TRAIN_VRAM_GIB", Array(model, precision, seq_len, micro_batch, gpus, zero_stage, checkpointing, tensor_parallel, pipeline_parallel), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LLM_TRAIN_VRAM_GIB = XLPy.CallUDF("udfs", "LLM_TRAIN_VRAM_GIB", Array(model, precision, seq_len, micro_batch, gpus, zero_stage, checkpointing, tensor_parallel, pipeline_parallel))
        Exit Function
    #End If
failed:
    LLM_TRAIN_VRAM_GIB = Err.Description
End Function

Function LLM_TTFT_S(model, gpu, prompt_tokens, Optional precision, Optional batch, Optional gpus)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LLM_TTFT_S = XLPy.CallUDF("udfs", "LLM_TTFT_S", Array(model, gpu, prompt_tokens, precision, batch, gpus), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LLM_TTFT_S = XLPy.CallUDF("udfs", "LLM_TTFT_S", Array(model, gpu, prompt_tokens, precision, batch, gpus))
        Exit Function
    #End If
failed:
    LLM_TTFT_S = Err.Description
End Function

Function LLM_WEIGHTS_GIB(model, Optional precision)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LLM_WEIGHTS_GIB = XLPy.CallUDF("udfs", "LLM_WEIGHTS_GIB", Array(model, precision), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LLM_WEIGHTS_GIB = XLPy.CallUDF("udfs", "LLM_WEIGHTS_GIB", Array(model, precision))
        Exit Function
    #End If
failed:
    LLM_WEIGHTS_GIB = Err.Description
End Function

Function PLAN_API_PRICE(api, side)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PLAN_API_PRICE = XLPy.CallUDF("udfs", "PLAN_API_PRICE", Array(api, side), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PLAN_API_PRICE = XLPy.CallUDF("udfs", "PLAN_API_PRICE", Array(api, side))
        Exit Function
    #End If
failed:
    PLAN_API_PRICE = Err.Description
End Function

Function PLAN_BREAKEVEN_HOURS(purchase_price, cloud_price_per_hour, Optional power_kw, Optional energy_price_per_kwh, Optional lifetime_years)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PLAN_BREAKEVEN_HOURS = XLPy.CallUDF("udfs", "PLAN_BREAKEVEN_HOURS", Array(purchase_price, cloud_price_per_hour, power_kw, energy_price_per_kwh, lifetime_years), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PLAN_BREAKEVEN_HOURS = XLPy.CallUDF("udfs", "PLAN_BREAKEVEN_HOURS", Array(purchase_price, cloud_price_per_hour, power_kw, energy_price_per_kwh, lifetime_years))
        Exit Function
    #End If
failed:
    PLAN_BREAKEVEN_HOURS = Err.Description
End Function

Function PLAN_BREAKEVEN_UTILISATION(purchase_price, power_kw, rent_price_per_hour, Optional pue, Optional energy_price_per_kwh, Optional colo_per_kw_month, Optional maintenance_share, Optional server_share, Optional life_years, Optional staff_per_gpu_month)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PLAN_BREAKEVEN_UTILISATION = XLPy.CallUDF("udfs", "PLAN_BREAKEVEN_UTILISATION", Array(purchase_price, power_kw, rent_price_per_hour, pue, energy_price_per_kwh, colo_per_kw_month, maintenance_share, server_share, life_years, staff_per_gpu_month), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PLAN_BREAKEVEN_UTILISATION = XLPy.CallUDF("udfs", "PLAN_BREAKEVEN_UTILISATION", Array(purchase_price, power_kw, rent_price_per_hour, pue, energy_price_per_kwh, colo_per_kw_month, maintenance_share, server_share, life_years, staff_per_gpu_month))
        Exit Function
    #End If
failed:
    PLAN_BREAKEVEN_UTILISATION = Err.Description
End Function

Function PLAN_CHEAPEST_MIX(tokens_per_day, growth_per_month, peak_to_average, horizon_months, replica_tokps, gpus_per_replica, reserve_replicas, capex_per_gpu, fixed_per_gpu_month, energy_full_per_gpu_month, burst_cost_per_mtok, discount_rate, Optional residual_share, Optional life_years, Optional result)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PLAN_CHEAPEST_MIX = XLPy.CallUDF("udfs", "PLAN_CHEAPEST_MIX", Array(tokens_per_day, growth_per_month, peak_to_average, horizon_months, replica_tokps, gpus_per_replica, reserve_replicas, capex_per_gpu, fixed_per_gpu_month, energy_full_per_gpu_month, burst_cost_per_mtok, discount_rate, residual_share, life_years, result), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PLAN_CHEAPEST_MIX = XLPy.CallUDF("udfs", "PLAN_CHEAPEST_MIX", Array(tokens_per_day, growth_per_month, peak_to_average, horizon_months, replica_tokps, gpus_per_replica, reserve_replicas, capex_per_gpu, fixed_per_gpu_month, energy_full_per_gpu_month, burst_cost_per_mtok, discount_rate, residual_share, life_years, result))
        Exit Function
    #End If
failed:
    PLAN_CHEAPEST_MIX = Err.Description
End Function

Function PLAN_FLEET_PV(tokens_per_day, growth_per_month, peak_to_average, horizon_months, replica_tokps, gpus_per_replica, reserve_replicas, capex_per_gpu, fixed_per_gpu_month, energy_full_per_gpu_month, burst_cost_per_mtok, discount_rate, Optional base_replicas, Optional residual_share, Optional life_years)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PLAN_FLEET_PV = XLPy.CallUDF("udfs", "PLAN_FLEET_PV", Array(tokens_per_day, growth_per_month, peak_to_average, horizon_months, replica_tokps, gpus_per_replica, reserve_replicas, capex_per_gpu, fixed_per_gpu_month, energy_full_per_gpu_month, burst_cost_per_mtok, discount_rate, base_replicas, residual_share, life_years), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PLAN_FLEET_PV = XLPy.CallUDF("udfs", "PLAN_FLEET_PV", Array(tokens_per_day, growth_per_month, peak_to_average, horizon_months, replica_tokps, gpus_per_replica, reserve_replicas, capex_per_gpu, fixed_per_gpu_month, energy_full_per_gpu_month, burst_cost_per_mtok, discount_rate, base_replicas, residual_share, life_years))
        Exit Function
    #End If
failed:
    PLAN_FLEET_PV = Err.Description
End Function

Function PLAN_OWNED_MONTHLY_COST(purchase_price, power_kw, Optional utilisation, Optional pue, Optional energy_price_per_kwh, Optional colo_per_kw_month, Optional maintenance_share, Optional server_share, Optional life_years, Optional staff_per_gpu_month, Optional part)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PLAN_OWNED_MONTHLY_COST = XLPy.CallUDF("udfs", "PLAN_OWNED_MONTHLY_COST", Array(purchase_price, power_kw, utilisation, pue, energy_price_per_kwh, colo_per_kw_month, maintenance_share, server_share, life_years, staff_per_gpu_month, part), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PLAN_OWNED_MONTHLY_COST = XLPy.CallUDF("udfs", "PLAN_OWNED_MONTHLY_COST", Array(purchase_price, power_kw, utilisation, pue, energy_price_per_kwh, colo_per_kw_month, maintenance_share, server_share, life_years, staff_per_gpu_month, part))
        Exit Function
    #End If
failed:
    PLAN_OWNED_MONTHLY_COST = Err.Description
End Function

Function PLAN_PAYBACK_MONTHS(investment, monthly_net_gain)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PLAN_PAYBACK_MONTHS = XLPy.CallUDF("udfs", "PLAN_PAYBACK_MONTHS", Array(investment, monthly_net_gain), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PLAN_PAYBACK_MONTHS = XLPy.CallUDF("udfs", "PLAN_PAYBACK_MONTHS", Array(investment, monthly_net_gain))
        Exit Function
    #End If
failed:
    PLAN_PAYBACK_MONTHS = Err.Description
End Function

Function PLAN_ROI(gain, cost)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        PLAN_ROI = XLPy.CallUDF("udfs", "PLAN_ROI", Array(gain, cost), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        PLAN_ROI = XLPy.CallUDF("udfs", "PLAN_ROI", Array(gain, cost))
        Exit Function
    #End If
failed:
    PLAN_ROI = Err.Description
End Function

