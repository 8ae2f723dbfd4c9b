// Train one cross-validation fold; the workflow runs the folds as parallel tasks.
process TRAIN {
    tag "fold ${fold}"
    label 'process_gpu'

    input:
    tuple path(proteins), path(folds), path(embeddings) // embeddings: [] for a from-scratch backbone
    each fold
    val backbone
    path checkpoint       // pretrained weights folder, or [] when training from embeddings / from scratch

    output:
    path "model/fold${fold}", emit: model
    tuple val("${task.process}"), val('locflow'), eval('locflow versions locflow'), emit: versions_locflow, topic: versions
    tuple val("${task.process}"), val('torch'), eval('locflow versions torch'), emit: versions_torch, topic: versions
    tuple val("${task.process}"), val('transformers'), eval('locflow versions transformers'), emit: versions_transformers, topic: versions
    tuple val("${task.process}"), val('peft'), eval('locflow versions peft'), emit: versions_peft, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def embeddings_arg = embeddings ? "--embeddings ${embeddings}" : ''
    def checkpoint_arg = checkpoint ? "--checkpoint ${checkpoint}" : ''
    """
    # torch uses as many threads as the task has CPUs, not as the node has cores
    export OMP_NUM_THREADS=${task.cpus}
    locflow train ${proteins} ${folds} --fold ${fold} --backbone ${backbone} ${embeddings_arg} ${checkpoint_arg} --out model ${args}
    """

    stub:
    """
    mkdir -p model/fold${fold}
    touch model/fold${fold}/weights.safetensors model/fold${fold}/resume.pt
    echo '{}' > model/fold${fold}/config.json
    """
}
