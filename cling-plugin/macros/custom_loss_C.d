
# DO NOT DELETE

/work/main/cling-plugin/macros/custom_loss_C.so: /opt/clad/include/clad/Differentiator/Differentiator.h
/work/main/cling-plugin/macros/custom_loss_C.so: /opt/clad/include/clad/Differentiator/Array.h
/work/main/cling-plugin/macros/custom_loss_C.so: /opt/clad/include/clad/Differentiator/ArrayExpression.h
/work/main/cling-plugin/macros/custom_loss_C.so: /opt/clad/include/clad/Differentiator/CladConfig.h
/work/main/cling-plugin/macros/custom_loss_C.so: /opt/clad/include/clad/Differentiator/ArrayRef.h
/work/main/cling-plugin/macros/custom_loss_C.so: /opt/clad/include/clad/Differentiator/Array.h
/work/main/cling-plugin/macros/custom_loss_C.so: /opt/clad/include/clad/Differentiator/BuiltinDerivatives.h
/work/main/cling-plugin/macros/custom_loss_C.so: /opt/clad/include/clad/Differentiator/ArrayRef.h
/work/main/cling-plugin/macros/custom_loss_C.so: /opt/clad/include/clad/Differentiator/CladConfig.h
/work/main/cling-plugin/macros/custom_loss_C.so: /opt/clad/include/clad/Differentiator/FunctionTraits.h
/work/main/cling-plugin/macros/custom_loss_C.so: /opt/clad/include/clad/Differentiator/Matrix.h
/work/main/cling-plugin/macros/custom_loss_C.so: /opt/clad/include/clad/Differentiator/Matrix.h
/work/main/cling-plugin/macros/custom_loss_C.so: /opt/clad/include/clad/Differentiator/NumericalDiff.h
/work/main/cling-plugin/macros/custom_loss_C.so: /opt/clad/include/clad/Differentiator/RestoreTracker.h
/work/main/cling-plugin/macros/custom_loss_C.so: /opt/clad/include/clad/Differentiator/Tape.h
/work/main/cling-plugin/macros/custom_loss_C.so: /work/main/.venv/lib/python3.11/site-packages/ROOT/include/RVersion.h /work/main/.venv/lib/python3.11/site-packages/ROOT/include/ROOT/RConfig.hxx /work/main/.venv/lib/python3.11/site-packages/ROOT/include/TClass.h /work/main/.venv/lib/python3.11/site-packages/ROOT/include/TDictAttributeMap.h /work/main/.venv/lib/python3.11/site-packages/ROOT/include/TInterpreter.h /work/main/.venv/lib/python3.11/site-packages/ROOT/include/TROOT.h /work/main/.venv/lib/python3.11/site-packages/ROOT/include/TBuffer.h /work/main/.venv/lib/python3.11/site-packages/ROOT/include/TMemberInspector.h /work/main/.venv/lib/python3.11/site-packages/ROOT/include/TError.h /work/main/.venv/lib/python3.11/site-packages/ROOT/include/RtypesImp.h /work/main/.venv/lib/python3.11/site-packages/ROOT/include/TIsAProxy.h /work/main/.venv/lib/python3.11/site-packages/ROOT/include/TFileMergeInfo.h /work/main/.venv/lib/python3.11/site-packages/ROOT/include/TCollectionProxyInfo.h
custom_loss_C__ROOTBUILDVERSION= 6.40.00
